"""Weekly leagues: groups of 30 per tier, standings, the rollover (late, twice), history, feed."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from linguo.config import Settings
from linguo.core.cache import MemoryCache
from linguo.core.db import Database
from linguo.core.jobs import JobContext, load_task_modules, run_job
from linguo.gamification import leagues, service
from linguo.models.gamification import XpSource
from linguo.models.identity import User
from tests.conftest import Clock, UserFactory, scalar

API = "/api/v1"
WEEK_1 = date(2026, 11, 9)  # a Monday
WEEK_2 = WEEK_1 + timedelta(days=7)
WEEK_3 = WEEK_2 + timedelta(days=7)


def at(week: date, minutes: float = 0, *, hours: float = 10) -> datetime:
    """An instant in the league week starting on `week` (Monday 10:00 UTC + minutes)."""
    return datetime(week.year, week.month, week.day, tzinfo=UTC) + timedelta(
        hours=hours, minutes=minutes
    )


async def make_learners(database: Database, count: int) -> list[uuid.UUID]:
    """`count` learners, created directly (registration is tested elsewhere)."""
    async with database.session() as session:
        users = [
            User(email=f"league-{index}@example.com", password_hash="-", full_name=f"L{index}")
            for index in range(count)
        ]
        session.add_all(users)
        await session.flush()
        return [user.id for user in users]


async def earn(database: Database, user_id: uuid.UUID, amount: int, when: datetime) -> None:
    """An XP award in its own transaction, as an event handler would make it."""
    async with database.session() as session:
        await service.award_xp(
            session,
            user_id,
            source=XpSource.BONUS,
            reference=str(uuid.uuid4()),
            amount=amount,
            at=when,
        )


async def rollover(database: Database, settings: Settings, now: datetime) -> int:
    """Run the rollover job through the job runner, as the scheduler would."""
    load_task_modules()
    ctx = JobContext(settings=settings, db=database, cache=MemoryCache())
    return int(await run_job(ctx, "gamification.rollover_leagues", {"now": now.isoformat()}))


async def outcomes(
    database: Database, week: date
) -> dict[uuid.UUID, tuple[int, int | None, str | None]]:
    """Each learner's (tier, final rank, outcome) of the week."""
    async with database.session() as session:
        rows = await session.execute(
            text(
                "SELECT user_id, tier, final_rank, outcome FROM league_memberships "
                "WHERE week_start = :w"
            ),
            {"w": week},
        )
        return {row[0]: (row[1], row[2], row[3]) for row in rows.all()}


async def group_sizes(database: Database, week: date) -> list[tuple[int, int, int, bool]]:
    """(tier, number, members, open) of the week's groups; members recounted from the rows."""
    async with database.session() as session:
        rows = await session.execute(
            text(
                "SELECT g.tier, g.number, count(m.user_id), g.is_open, g.member_count "
                "FROM league_groups g LEFT JOIN league_memberships m ON m.group_id = g.id "
                "WHERE g.week_start = :w GROUP BY g.id ORDER BY g.tier, g.number"
            ),
            {"w": week},
        )
        found = []
        for tier, number, members, is_open, member_count in rows.all():
            assert members == member_count
            found.append((tier, number, members, is_open))
        return found


async def test_a_league_week_of_65_learners_and_a_late_rollover_run_twice(
    database: Database, settings: Settings
) -> None:
    learners = await make_learners(database, 65)

    # Week 1: everyone starts in Bronze; learner i joins i minutes in and earns 100 - i XP.
    for index, learner in enumerate(learners):
        await earn(database, learner, 100 - index, at(WEEK_1, index))
    await earn(database, learners[64], 1, at(WEEK_1, 100))  # more XP: same group, same place
    assert await group_sizes(database, WEEK_1) == [
        (0, 1, 30, False),
        (0, 2, 30, False),
        (0, 3, 5, True),
    ]

    # The week has not ended: nothing to settle.
    assert await rollover(database, settings, at(WEEK_1, hours=23 + 24 * 6)) == 0
    monday = at(WEEK_2, 5, hours=0)
    assert await rollover(database, settings, monday) == 3
    assert await rollover(database, settings, monday) == 0  # twice: nothing more

    week_1 = await outcomes(database, WEEK_1)
    promoted = {i for i, learner in enumerate(learners) if week_1[learner][2] == "promoted"}
    # Bronze promotes the top 20 of each group and demotes nobody.
    assert promoted == set(range(20)) | set(range(30, 50)) | set(range(60, 65))
    assert {week_1[learner][2] for learner in learners} == {"promoted", "stayed"}
    assert [week_1[learners[i]][1] for i in (0, 19, 20, 29, 30, 59, 60, 64)] == [
        1,
        20,
        21,
        30,
        1,
        30,
        1,
        5,
    ]
    activities = await scalar(
        database,
        "SELECT count(*) FROM activities WHERE kind = 'league_promotion' "
        "AND data->>'to_league' = 'Silver' AND data->>'from_league' = 'Bronze'",
    )
    assert activities == 45

    # Week 2: learner i joins i minutes in and earns i + 1 XP. The 45 promoted play Silver:
    # the first 30 to join (0-19, 30-39) fill one group, 40-49 and 60-64 a second.
    for index, learner in enumerate(learners):
        await earn(database, learner, index + 1, at(WEEK_2, index))
    assert await group_sizes(database, WEEK_2) == [
        (0, 1, 20, True),
        (1, 1, 30, False),
        (1, 2, 15, True),
    ]

    # The rollover is late. Learner 0 earns XP in week 3 first: their Silver group is
    # settled on the spot, so they already play the tier it sent them to.
    await earn(database, learners[0], 5, at(WEEK_3, 30))
    week_2 = await outcomes(database, WEEK_2)
    # Silver group 1 by XP: 39..30 (ranks 1-10), then 19..0 (ranks 11-30).
    # Top 15 (39..30, 19..15) go up; ranks 24-30 (6..0) go down; 14..7 stay.
    assert week_2[learners[0]] == (1, 30, "demoted")
    assert week_2[learners[39]] == (1, 1, "promoted")
    assert week_2[learners[15]] == (1, 15, "promoted")
    assert week_2[learners[14]] == (1, 16, "stayed")
    assert week_2[learners[7]] == (1, 23, "stayed")
    assert week_2[learners[6]] == (1, 24, "demoted")
    assert week_2[learners[40]][2] is None  # other groups wait for the job
    assert await outcomes(database, WEEK_3) == {learners[0]: (0, None, None)}

    tuesday = at(WEEK_3, hours=24 + 9)
    assert await rollover(database, settings, tuesday) == 2  # Silver 2 and Bronze
    assert await rollover(database, settings, tuesday) == 0
    week_2 = await outcomes(database, WEEK_2)
    silver_1 = [learners[i] for i in [*range(20), *range(30, 40)]]
    counts = Counter(week_2[learner][2] for learner in silver_1)
    assert counts == {"promoted": 15, "stayed": 8, "demoted": 7}
    # Silver 2 has 15 learners: all in the top 15. Bronze (20 learners): all in the top 20.
    assert {week_2[learners[i]][2] for i in [*range(40, 50), *range(60, 65)]} == {"promoted"}
    assert {week_2[learners[i]][2] for i in [*range(20, 30), *range(50, 60)]} == {"promoted"}

    # Week 3 tiers follow the outcomes.
    for index, expected_tier in ((39, 2), (15, 2), (14, 1), (6, 0), (25, 1), (64, 2)):
        await earn(database, learners[index], 1, at(WEEK_3, 60 + index))
        assert (await outcomes(database, WEEK_3))[learners[index]][0] == expected_tier, index
    # Demotions never reach the feed; a learner promoted twice has two entries.
    assert (
        await scalar(
            database,
            "SELECT count(*) FROM activities WHERE kind = 'league_promotion' AND user_id = :u",
            u=learners[39],
        )
        == 2
    )
    assert (
        await scalar(
            database,
            "SELECT count(*) FROM activities WHERE kind = 'league_promotion' AND user_id = :u",
            u=learners[0],
        )
        == 1
    )


async def waiting(database: Database, week: date) -> int:
    """How many learners of the week wait for a group."""
    return int(
        await scalar(
            database,
            "SELECT count(*) FROM league_memberships WHERE week_start = :w AND group_id IS NULL",
            w=week,
        )
    )


async def test_concurrent_first_xp_never_overfills_a_group(
    database: Database, settings: Settings
) -> None:
    learners = await make_learners(database, 45)
    await asyncio.gather(*(earn(database, learner, 10, at(WEEK_1, 1)) for learner in learners))
    sizes = await group_sizes(database, WEEK_1)
    assert all(size <= 30 for _, _, size, _ in sizes)
    assert sum(size for _, _, size, _ in sizes) + await waiting(database, WEEK_1) == 45
    # Learners left waiting by the burst are placed by the job; the groups fill in order.
    assert await rollover(database, settings, at(WEEK_1, 10)) == 0
    assert await waiting(database, WEEK_1) == 0
    sizes = await group_sizes(database, WEEK_1)
    assert [size for _, _, size, _ in sizes] == [30, 15]
    assert [is_open for *_, is_open in sizes] == [False, True]


async def test_a_joiner_never_waits_for_a_group_another_joiner_holds(
    database: Database,
) -> None:
    first, holder, newcomer, early, later = await make_learners(database, 5)
    await earn(database, first, 10, at(WEEK_1, 1))
    async with database.session() as holding:
        # The holder's first XP places them: their transaction holds the open group.
        await service.award_xp(
            holding, holder, source=XpSource.BONUS, reference="h", amount=5, at=at(WEEK_1, 2)
        )
        # Meanwhile another learner's first XP commits at once instead of queueing behind it.
        await asyncio.wait_for(earn(database, newcomer, 7, at(WEEK_1, 3)), timeout=10)
        assert await waiting(database, WEEK_1) == 1
    assert await group_sizes(database, WEEK_1) == [(0, 1, 2, True)]

    # Their own leaderboard read places them, with the XP they earned while waiting.
    async with database.session() as session:
        board = await leagues.leaderboard(session, newcomer, at(WEEK_1, 4))
    assert board.joined and board.my_rank == 2 and board.my_xp == 7
    assert [entry.xp for entry in board.entries] == [10, 7, 5]
    assert await waiting(database, WEEK_1) == 0

    # A waiting learner is also placed by the next joiner, before them (first come first).
    async with database.session() as holding:
        await service.award_xp(
            holding, holder, source=XpSource.BONUS, reference="h2", amount=1, at=at(WEEK_1, 5)
        )
        await leagues.place_waiting(holding, WEEK_1, 0, at(WEEK_1, 5))  # holds the group
        await earn(database, early, 3, at(WEEK_1, 6))
    await earn(database, later, 2, at(WEEK_1, 7))
    joined = await scalar(
        database,
        "SELECT string_agg(user_id::text, ',' ORDER BY joined_at) FROM league_memberships "
        "WHERE group_id IS NOT NULL",
    )
    assert joined.split(",")[-2:] == [str(early), str(later)]
    assert await group_sizes(database, WEEK_1) == [(0, 1, 5, True)]


async def test_leaderboard_and_history_over_http(
    client: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    user_factory: UserFactory,
    clock: Clock,
) -> None:
    clock.now = at(WEEK_1, hours=12)
    user, headers, _ = await user_factory(full_name="Ana Learner")
    me = uuid.UUID(user["id"])

    before = await client.get(f"{API}/leaderboard", headers=headers)
    assert before.status_code == 200, before.text
    assert before.json() == {
        "league": "Bronze",
        "tier": 0,
        "week_start": "2026-11-09",
        "week_end": "2026-11-15",
        "ends_at": "2026-11-16T00:00:00Z",
        "joined": False,
        "my_rank": None,
        "my_xp": 0,
        "promotion_rank": 20,
        "demotion_rank": None,
        "group_size": 30,
        "entries": [],
    }

    rivals = await make_learners(database, 2)
    # A tie at 30 XP goes to who got there first: the rival reached 30 before the caller.
    await earn(database, rivals[0], 30, at(WEEK_1, hours=8))
    await earn(database, me, 20, at(WEEK_1, hours=7))
    await earn(database, me, 10, at(WEEK_1, hours=9))
    await earn(database, rivals[1], 5, at(WEEK_1, hours=11))
    board = (await client.get(f"{API}/leaderboard", headers=headers)).json()
    assert board["joined"] is True and board["my_rank"] == 2 and board["my_xp"] == 30
    assert [(e["rank"], e["display_name"], e["xp"], e["zone"]) for e in board["entries"]] == [
        (1, "L0", 30, "promotion"),
        (2, "Ana Learner", 30, "promotion"),
        (3, "L1", 5, "promotion"),
    ]
    assert board["entries"][1]["user_id"] == str(me)
    # XP from lessons, reviews or conversation all counts: here a conversation turn.
    async with database.session() as session:
        await service.award_xp(
            session, me, source=XpSource.CONVERSATION, reference="t:1", amount=4, at=clock.now
        )
    board = (await client.get(f"{API}/leaderboard", headers=headers)).json()
    assert (board["my_rank"], board["my_xp"]) == (1, 34)

    # The next week: a new, empty board in Silver (the caller was promoted) and the history.
    clock.now = at(WEEK_2, hours=12)
    await rollover(database, settings, clock.now)
    board = (await client.get(f"{API}/leaderboard", headers=headers)).json()
    assert (board["league"], board["joined"], board["entries"]) == ("Silver", False, [])
    assert (board["promotion_rank"], board["demotion_rank"]) == (15, 24)
    await earn(database, me, 3, clock.now)
    history = (await client.get(f"{API}/leaderboard/history", headers=headers)).json()
    assert history["total"] == 2
    assert history["items"] == [
        {
            "week_start": "2026-11-16",
            "league": "Silver",
            "tier": 1,
            "xp": 3,
            "rank": None,
            "group_members": 1,
            "outcome": None,
        },
        {
            "week_start": "2026-11-09",
            "league": "Bronze",
            "tier": 0,
            "xp": 34,
            "rank": 1,
            "group_members": 3,
            "outcome": "promoted",
        },
    ]
    page = await client.get(
        f"{API}/leaderboard/history", headers=headers, params={"limit": 1, "offset": 1}
    )
    assert [item["week_start"] for item in page.json()["items"]] == ["2026-11-09"]


@pytest.mark.parametrize("params", [{"limit": 101}, {"limit": 0}, {"offset": -1}, {"limit": "ten"}])
async def test_bad_history_paging_is_refused(
    client: httpx.AsyncClient, user_factory: UserFactory, params: dict[str, int | str]
) -> None:
    _, headers, _ = await user_factory()
    response = await client.get(f"{API}/leaderboard/history", headers=headers, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_leaderboard_needs_a_login(client: httpx.AsyncClient) -> None:
    for path in ("/leaderboard", "/leaderboard/history"):
        response = await client.get(f"{API}{path}")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"


def test_tier_rules() -> None:
    assert len(leagues.TIERS) == 10 and leagues.TIERS[0] == "Bronze"
    assert leagues.TIERS[-1] == "Diamond"
    assert [leagues.promotion_rank(t) for t in range(10)] == [
        20,
        15,
        10,
        7,
        7,
        7,
        7,
        7,
        5,
        None,
    ]
    assert [leagues.demotion_rank(t) for t in range(10)] == [None] + [24] * 9
    assert leagues.week_start(datetime(2026, 11, 15, 23, 59, tzinfo=UTC)) == WEEK_1
    assert leagues.week_start(datetime(2026, 11, 16, 0, 0, tzinfo=UTC)) == WEEK_2
    # A learner's late Sunday evening in New York is already Monday in UTC: next week.
    new_york = datetime(2026, 11, 15, 20, 30, tzinfo=UTC) + timedelta(hours=5)
    assert leagues.week_start(new_york) == WEEK_2
