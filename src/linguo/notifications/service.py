"""Notifications: streak reminders written to the outbox, and the outbox API for push delivery.

- Streak reminders go to learners with a streak alive who have not practised on their local
  today, from 18:00 their local time. The hourly job accepts local times from 18:00 to 21:59
  (`REMINDER_WINDOW`), so a run that is late, or missed for a few hours, still reminds; the
  outbox is unique per (learner, kind, local date), so each learner gets at most one reminder
  a day however often the job runs. Learners in zones with a half-hour offset get theirs at
  the first run after 18:00 (18:30 in India).
- A candidate's streak is settled first (freezes cover missed days, or the streak breaks), so
  a streak kept by a freeze is reminded and a broken one is not.
- The text is in the learner's native language (English when it has no translation).
- Push delivery claims pending messages with `claim_pending` (FOR UPDATE SKIP LOCKED, so
  several deliverers never send one message twice) and marks them with `mark_delivered` or
  `record_failed_attempt` in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from linguo.gamification import repository as gamification_repository
from linguo.gamification.service import local_day, settle_streak
from linguo.models.gamification import StreakDayKind
from linguo.models.identity import User
from linguo.models.notifications import Notification, NotificationKind
from linguo.notifications import repository

REMINDER_WINDOW = (time(18, 0), time(22, 0))
"""Local times [start, end) at which a streak reminder may be written."""


@dataclass(frozen=True, slots=True)
class _ReminderText:
    title: str
    body: str
    days: Callable[[int], str]


def _plural(singular: str, plural: str, *, zero_is_singular: bool = False) -> Callable[[int], str]:
    def days(count: int) -> str:
        return singular if count == 1 or (zero_is_singular and count == 0) else plural

    return days


REMINDER_TEXTS: dict[str, _ReminderText] = {
    "en": _ReminderText(
        "Keep your {streak}-day streak!",
        "You haven't practised today yet. A few minutes before midnight keep it going.",
        _plural("day", "days"),
    ),
    "fr": _ReminderText(
        "Gardez votre série de {streak} {days} !",
        "Vous n'avez pas encore pratiqué aujourd'hui. Quelques minutes avant minuit suffisent "
        "pour la garder.",
        _plural("jour", "jours", zero_is_singular=True),
    ),
    "es": _ReminderText(
        "¡Mantén tu racha de {streak} {days}!",
        "Todavía no has practicado hoy. Unos minutos antes de medianoche bastan para mantenerla.",
        _plural("día", "días"),
    ),
    "de": _ReminderText(
        "Halte deine Serie von {streak} {days}!",
        "Du hast heute noch nicht geübt. Ein paar Minuten vor Mitternacht genügen, um sie zu "
        "halten.",
        _plural("Tag", "Tagen"),
    ),
    "it": _ReminderText(
        "Mantieni la tua serie di {streak} {days}!",
        "Oggi non ti sei ancora esercitato. Bastano pochi minuti prima di mezzanotte per "
        "mantenerla.",
        _plural("giorno", "giorni"),
    ),
    "pt": _ReminderText(
        "Mantenha sua sequência de {streak} {days}!",
        "Você ainda não praticou hoje. Alguns minutos antes da meia-noite bastam para mantê-la.",
        _plural("dia", "dias"),
    ),
}


def reminder_text(language: str, streak: int) -> tuple[str, str]:
    """(title, body) of a streak reminder in `language`, or in English without a translation."""
    text = REMINDER_TEXTS.get(language.lower(), REMINDER_TEXTS["en"])
    return text.title.format(streak=streak, days=text.days(streak)), text.body


async def streak_reminder_candidates(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """Learners to consider for a reminder at `now` (one set-based query), in id order."""
    stmt = repository.streak_reminder_candidates(now, *REMINDER_WINDOW)
    return list((await session.execute(stmt)).scalars())


async def remind_learner(session: AsyncSession, user: User, now: datetime) -> bool:
    """Settle the learner's streak and write today's reminder if it is alive and not kept yet.

    True when a reminder was written (False when not due, or written before).
    """
    await settle_streak(session, user, now)  # holds the learner's profile lock until the commit
    if user.current_streak <= 0:
        return False
    today = local_day(user, now)
    # Checked again under the lock: the learner may have practised since the candidates query.
    if await gamification_repository.day_kind(session, user.id, today) is StreakDayKind.ACTIVE:
        return False
    title, body = reminder_text(user.native_language, user.current_streak)
    return await repository.add_notification(
        session,
        user_id=user.id,
        kind=NotificationKind.STREAK_REMINDER,
        reference=today.isoformat(),
        title=title,
        body=body,
        data={"streak": user.current_streak, "local_date": today.isoformat()},
        at=now,
    )


async def send_streak_reminders(
    session: AsyncSession, user_ids: Sequence[uuid.UUID], now: datetime
) -> int:
    """Remind these candidates (one transaction); returns the reminders written."""
    written = 0
    for user in await repository.users_by_id(session, user_ids):
        written += await remind_learner(session, user, now)
    return written


# --------------------------------------------------------------------------- the outbox


async def claim_pending(session: AsyncSession, limit: int = 100) -> list[Notification]:
    """Up to `limit` undelivered messages, oldest first, locked for this transaction.

    Messages another deliverer has claimed are skipped rather than waited for.
    """
    return await repository.claim_pending(session, limit)


async def mark_delivered(
    session: AsyncSession, notification_ids: Sequence[uuid.UUID], now: datetime
) -> int:
    """Record that these messages were sent; returns how many were still pending."""
    return await repository.set_delivered(session, notification_ids, now)


async def record_failed_attempt(
    session: AsyncSession, notification_ids: Sequence[uuid.UUID]
) -> None:
    """Count a failed send of these messages; they stay pending for a later attempt."""
    await repository.add_failed_attempt(session, notification_ids)
