"""Gamification: XP, levels, streaks, achievements, gems, leagues and the social feed."""
