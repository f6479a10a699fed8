"""The level curve.

Reaching level L takes 25 * L * (L - 1) XP in total: level 2 at 50 XP, 3 at 150, 4 at 300,
5 at 500, 10 at 2,250, 20 at 9,500. Each level costs 50 XP more than the one before, so
early levels come within a day or two and later ones reward steady practice.
"""

from __future__ import annotations

import math

XP_STEP = 25


def xp_for_level(level: int) -> int:
    """Total XP needed to reach `level` (level 1 needs none)."""
    if level < 1:
        raise ValueError("levels start at 1")
    return XP_STEP * level * (level - 1)


def level_for_xp(total_xp: int) -> int:
    """The level reached with `total_xp` XP."""
    if total_xp <= 0:
        return 1
    # Largest L with 25 L (L - 1) <= xp, from the quadratic formula, then corrected for rounding.
    level = int((1 + math.sqrt(1 + 4 * total_xp / XP_STEP)) / 2)
    while xp_for_level(level + 1) <= total_xp:
        level += 1
    while xp_for_level(level) > total_xp:
        level -= 1
    return level
