"""Admin content: courses, units, lessons and exercises of any status, and publishing.

Every change locks the course row first (changes to one course take turns), checks the
content as it would be after the change, then calls `versions.content_changed` once with the
lessons whose own content changed, so learners' cached copies are refreshed. A change that
changes nothing (a PATCH repeating the stored values, publishing a published course) bumps
nothing. As with imports, a new course starts at content version 1 and creating it bumps
nothing (no learner can see an unpublished, empty course); creating a unit, lesson or
exercise bumps the course, and a new lesson or the new exercise's lesson is bumped too.

Positions: units and lessons count from 1, exercises from 0 (the order LibreLingo imports
use). A given position inserts there and moves the siblings; past the end appends; absent
appends. Siblings are renumbered without gaps whenever one is added, moved or deleted.

Media reference counts are recounted (`media_repository.refresh_reference_counts`) for the
audio of exercises deleted or given new `audio_text`.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.content import admin_repository as repository
from linguo.content import media_repository, versions
from linguo.content.admin_schemas import (
    CourseAdminRead,
    CourseCreate,
    CourseTree,
    CourseUpdate,
    ExerciseAdminRead,
    ExerciseCreate,
    ExerciseUpdate,
    LessonAdminRead,
    LessonCreate,
    LessonTree,
    LessonUpdate,
    UnitAdminRead,
    UnitCreate,
    UnitTree,
    UnitUpdate,
)
from linguo.content.media import Speech, record_speech
from linguo.core.errors import AppError, BadRequest, Conflict, ErrorCode, NotFound
from linguo.core.pagination import PageParams, paginate
from linguo.language.answers import normalise
from linguo.models.content import (
    Course,
    Exercise,
    ExerciseStatus,
    ExerciseType,
    Lesson,
    Unit,
)

UNIT_BASE = 1
"""Position of a course's first unit."""
LESSON_BASE = 1
"""Position of a unit's first lesson."""
EXERCISE_BASE = 0
"""Position of a lesson's first exercise."""

PICK_ONE_TYPES = frozenset({ExerciseType.CARDS, ExerciseType.OPTIONS})
"""The learner picks one of the choices."""
CHOICE_TYPES = PICK_ONE_TYPES | {ExerciseType.CHIPS}
"""Exercises with choices; the others are typed and have none."""
CEFR_ORDER = ("A1", "A2", "B1", "B2", "C1", "C2")

Problem = tuple[str, str]
"""(field, what is wrong with it)."""


class InvalidContent(AppError):
    """The content would break a rule that spans fields or the stored content (422)."""

    status_code = 422
    code = ErrorCode.VALIDATION_ERROR
    message = "The content is not valid."

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(
            " ".join(message for _, message in problems),
            details=[
                {"loc": ["body", field], "message": message, "type": "value_error"}
                for field, message in problems
            ],
        )


class CourseEmpty(Conflict):
    """A published course would have no lesson with a published exercise."""

    code = ErrorCode.COURSE_EMPTY
    message = (
        "The course has no lesson with a published exercise: learners would open an empty course."
    )


class InvalidPrerequisite(BadRequest):
    """A prerequisite outside the course, the lesson itself, or one closing a cycle."""

    code = ErrorCode.INVALID_PREREQUISITE
    message = "The prerequisite must be another lesson of the same course."


# --------------------------------------------------------------------------- pure rules


def course_problems(cefr_min: str | None, cefr_max: str | None) -> list[Problem]:
    """What is wrong with a course's fields taken together."""
    if cefr_min and cefr_max and CEFR_ORDER.index(cefr_min) > CEFR_ORDER.index(cefr_max):
        return [("cefr_max", f"cefr_max ({cefr_max}) must not be below cefr_min ({cefr_min}).")]
    return []


def exercise_problems(
    *,
    type: ExerciseType,
    answers: Sequence[str],
    choices: Sequence[str],
    distractors: Sequence[str],
    audio_text: str | None,
    prompt_language: str,
    answer_language: str,
    language: str,
    source_language: str,
) -> list[Problem]:
    """What is wrong with an exercise of a course teaching `language` to `source_language`.

    Texts are compared in the answer checker's comparison form (`normalise`: case, spacing,
    punctuation and apostrophe styles ignored).
    """
    type = ExerciseType(type)
    problems: list[Problem] = []
    for field, value in (
        ("prompt_language", prompt_language),
        ("answer_language", answer_language),
    ):
        if value not in (language, source_language):
            problems.append(
                (
                    field,
                    f"{field} must be the course's language ({language}) or source language "
                    f"({source_language}), not {value}.",
                )
            )
    if not answers or any(not answer.strip() for answer in answers):
        problems.append(("answers", "answers must be a non-empty list of non-blank texts."))
        return problems

    def form(text: str) -> str:
        return normalise(text, answer_language)

    accepted = {form(answer) for answer in answers}
    if type in CHOICE_TYPES:
        picks = [form(choice) for choice in choices]
        if type in PICK_ONE_TYPES and not accepted.intersection(picks):
            problems.append(("choices", "choices must include an accepted answer."))
        if type == ExerciseType.CHIPS:
            bank = Counter(word for pick in picks for word in pick.split())
            missing = Counter(form(answers[0]).split()) - bank
            if missing:
                words = ", ".join(sorted(missing.elements()))
                problems.append(
                    (
                        "choices",
                        f"choices must hold every word of the main answer; missing: {words}.",
                    )
                )
        wrong = [text for text in distractors if form(text) in accepted]
        if wrong:
            problems.append(
                ("distractors", f"distractors must not be accepted answers: {', '.join(wrong)}.")
            )
        stray = [text for text in distractors if form(text) not in picks]
        if stray:
            problems.append(
                ("distractors", f"every distractor must be one of the choices: {', '.join(stray)}.")
            )
    else:
        for field, values in (("choices", choices), ("distractors", distractors)):
            if values:
                problems.append(
                    (field, f"{type.value} exercises are typed: {field} must be empty.")
                )
    if type == ExerciseType.LISTENING and not (audio_text and audio_text.strip()):
        problems.append(("audio_text", "listening exercises need audio_text, what is heard."))
    return problems


# --------------------------------------------------------------------------- positions

Positioned = TypeVar("Positioned", Unit, Lesson, Exercise)


def _renumber(siblings: Sequence[Positioned], base: int) -> None:
    """Number `siblings` base, base + 1, ... in their list order."""
    for index, item in enumerate(siblings):
        if item.position != base + index:
            item.position = base + index


def _insert(siblings: list[Positioned], item: Positioned, position: int | None, base: int) -> None:
    """Put `item` (not among `siblings`) at `position`, or last, and renumber."""
    index = len(siblings) if position is None else min(position - base, len(siblings))
    siblings.insert(index, item)
    _renumber(siblings, base)


def _move(siblings: list[Positioned], item: Positioned, position: int, base: int) -> bool:
    """Move `item` (one of `siblings`) to `position` (past the end: last); True if it moved."""
    current = siblings.index(item)
    target = min(position - base, len(siblings) - 1)
    if target == current:
        return False
    siblings.pop(current)
    siblings.insert(target, item)
    _renumber(siblings, base)
    return True


# --------------------------------------------------------------------------- helpers


def _found(course: Course | None, what: str) -> Course:
    if course is None:
        raise NotFound(f"No such {what}.")
    return course


def _changes(entity: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields whose value differs from the entity's."""
    return {name: value for name, value in fields.items() if getattr(entity, name) != value}


async def _keep_playable(session: AsyncSession, course: Course) -> None:
    """409 `course_empty` if the course is published and nothing in it is playable now."""
    if course.is_published and not await repository.has_playable_lesson(session, course.id):
        raise CourseEmpty(
            "This would leave the published course with no lesson to play; unpublish the "
            "course first."
        )


def _relink(lessons: Sequence[Lesson], doomed: set[uuid.UUID]) -> list[Lesson]:
    """Lessons that required a doomed lesson now require its nearest surviving prerequisite.

    So deleting B from A <- B <- C leaves A <- C instead of unlocking C. Returns the
    lessons changed.
    """
    prerequisite_of = {lesson.id: lesson.prerequisite_lesson_id for lesson in lessons}
    changed = []
    for lesson in lessons:
        if lesson.id in doomed or lesson.prerequisite_lesson_id not in doomed:
            continue
        ancestor: uuid.UUID | None = lesson.prerequisite_lesson_id
        seen: set[uuid.UUID] = set()
        while ancestor is not None and ancestor in doomed and ancestor not in seen:
            seen.add(ancestor)
            ancestor = prerequisite_of.get(ancestor)
        lesson.prerequisite_lesson_id = None if ancestor in doomed else ancestor
        changed.append(lesson)
    return changed


async def _check_prerequisite(
    session: AsyncSession,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID | None,
    prerequisite_id: uuid.UUID,
) -> None:
    """400 `invalid_prerequisite` unless the prerequisite is another lesson of the course
    and requiring it closes no cycle."""
    if prerequisite_id == lesson_id:
        raise InvalidPrerequisite("A lesson cannot be its own prerequisite.")
    prerequisite_of = {
        lesson.id: lesson.prerequisite_lesson_id
        for lesson in await repository.lessons_of_course(session, course_id)
    }
    if prerequisite_id not in prerequisite_of:
        raise InvalidPrerequisite(
            "The prerequisite must be another lesson of the same course.",
            details={"prerequisite_lesson_id": str(prerequisite_id)},
        )
    chain: list[uuid.UUID] = []
    current: uuid.UUID | None = prerequisite_id
    while current is not None and current not in chain:
        if current == lesson_id:
            raise InvalidPrerequisite(
                "This prerequisite would make a cycle: the lessons would wait for each other.",
                details={"cycle": [str(item) for item in (lesson_id, *chain, lesson_id)]},
            )
        chain.append(current)
        current = prerequisite_of.get(current)


# --------------------------------------------------------------------------- courses

_COUNTS = frozenset({"unit_count", "lesson_count", "exercise_count"})
_COURSE_COLUMNS = tuple(name for name in CourseAdminRead.model_fields if name not in _COUNTS)


async def course_reads(session: AsyncSession, courses: Sequence[Course]) -> list[CourseAdminRead]:
    """Courses as admins see them, with their counts."""
    counts = await repository.course_counts(session, [course.id for course in courses])
    reads = []
    for course in courses:
        unit_count, lesson_count, exercise_count = counts.get(course.id, (0, 0, 0))
        reads.append(
            CourseAdminRead(
                **{name: getattr(course, name) for name in _COURSE_COLUMNS},
                unit_count=unit_count,
                lesson_count=lesson_count,
                exercise_count=exercise_count,
            )
        )
    return reads


async def _course_read(session: AsyncSession, course: Course) -> CourseAdminRead:
    await session.refresh(course)
    (read,) = await course_reads(session, [course])
    return read


async def list_courses(
    session: AsyncSession, *, language: str | None, source_language: str | None, page: PageParams
) -> tuple[list[CourseAdminRead], int]:
    """One page of every course, published or not, by title."""
    stmt = repository.list_courses_query(language=language, source_language=source_language)
    rows, total = await paginate(session, stmt, page)
    return await course_reads(session, rows), total


async def create_course(session: AsyncSession, data: CourseCreate) -> CourseAdminRead:
    """A new unpublished, empty course (`source_key` null: not imported)."""
    problems = course_problems(data.cefr_min, data.cefr_max)
    if problems:
        raise InvalidContent(problems)
    course = Course(source_key=None, is_published=False, content_version=1, **data.model_dump())
    session.add(course)
    await session.flush()
    return await _course_read(session, course)


async def course_tree(session: AsyncSession, course_id: uuid.UUID) -> CourseTree:
    """The course with its units, lessons and exercises (answers too), whatever their status."""
    course = _found(await session.get(Course, course_id), "course")
    (read,) = await course_reads(session, [course])
    exercises: defaultdict[uuid.UUID, list[ExerciseAdminRead]] = defaultdict(list)
    rows = await repository.exercises_of_course(session, course.id)
    counts = await repository.first_answer_counts(session, [exercise.id for exercise in rows])
    for exercise in rows:
        exercises[exercise.lesson_id].append(_exercise_read(exercise, counts))
    lessons: defaultdict[uuid.UUID, list[LessonTree]] = defaultdict(list)
    for lesson in await repository.lessons_of_course(session, course.id):
        lessons[lesson.unit_id].append(
            LessonTree(
                **LessonAdminRead.model_validate(lesson).model_dump(),
                exercises=exercises[lesson.id],
            )
        )
    units = [
        UnitTree(**UnitAdminRead.model_validate(unit).model_dump(), lessons=lessons[unit.id])
        for unit in await repository.units_in_order(session, course.id)
    ]
    return CourseTree(**read.model_dump(), units=units)


async def update_course(
    session: AsyncSession, course_id: uuid.UUID, changes: CourseUpdate
) -> CourseAdminRead:
    """Change a course's fields; its languages must still cover its exercises' (409)."""
    course = _found(await repository.lock_course(session, course_id), "course")
    changed = _changes(course, changes.model_dump(exclude_unset=True))
    if not changed:
        return await _course_read(session, course)

    def merged(name: str) -> Any:
        return changed.get(name, getattr(course, name))

    problems = course_problems(merged("cefr_min"), merged("cefr_max"))
    if problems:
        raise InvalidContent(problems)
    if changed.keys() & {"language", "source_language"}:
        languages = {merged("language"), merged("source_language")}
        stray = await repository.exercise_languages(session, course.id) - languages
        if stray:
            raise Conflict(
                "Exercises of this course use other languages "
                f"({', '.join(sorted(stray))}); change or delete them first.",
                details={"exercise_languages": sorted(stray)},
            )
    for name, value in changed.items():
        setattr(course, name, value)
    await session.flush()
    await versions.content_changed(session, course.id)
    return await _course_read(session, course)


async def delete_course(session: AsyncSession, course_id: uuid.UUID) -> None:
    """Delete a course with everything in it (and learners' attempts and progress in it)."""
    course = _found(await repository.lock_course(session, course_id), "course")
    media = await repository.media_of(
        session, Exercise.lesson_id.in_(select(Lesson.id).where(Lesson.course_id == course.id))
    )
    await versions.content_changed(session, course.id)
    await session.delete(course)
    await session.flush()
    await media_repository.refresh_reference_counts(session, media)


async def set_published(
    session: AsyncSession, course_id: uuid.UUID, *, published: bool
) -> CourseAdminRead:
    """Publish or unpublish (idempotent); publishing needs a playable lesson (409)."""
    course = _found(await repository.lock_course(session, course_id), "course")
    if course.is_published != published:
        if published and not await repository.has_playable_lesson(session, course.id):
            raise CourseEmpty()
        course.is_published = published
        await session.flush()
        await versions.content_changed(session, course.id)
    return await _course_read(session, course)


# --------------------------------------------------------------------------- units


async def create_unit(session: AsyncSession, course_id: uuid.UUID, data: UnitCreate) -> Unit:
    """A new unit, at `position` or last."""
    course = _found(await repository.lock_course(session, course_id), "course")
    units = await repository.units_in_order(session, course.id)
    unit = Unit(course_id=course.id, **data.model_dump(exclude={"position"}))
    session.add(unit)
    _insert(units, unit, data.position, UNIT_BASE)
    await session.flush()
    await versions.content_changed(session, course.id)
    await session.refresh(unit)
    return unit


async def _unit(session: AsyncSession, unit_id: uuid.UUID) -> tuple[Course, Unit]:
    course = _found(await repository.lock_course_of_unit(session, unit_id), "unit")
    unit = await session.get(Unit, unit_id, populate_existing=True)
    if unit is None:
        raise NotFound("No such unit.")
    return course, unit


async def update_unit(session: AsyncSession, unit_id: uuid.UUID, changes: UnitUpdate) -> Unit:
    """Change a unit; a new `position` moves its siblings."""
    course, unit = await _unit(session, unit_id)
    changed = _changes(unit, changes.model_dump(exclude_unset=True, exclude={"position"}))
    moved = False
    if changes.position is not None:
        units = await repository.units_in_order(session, course.id)
        moved = _move(units, unit, changes.position, UNIT_BASE)
    if changed or moved:
        for name, value in changed.items():
            setattr(unit, name, value)
        await session.flush()
        await versions.content_changed(session, course.id)
    await session.refresh(unit)
    return unit


async def delete_unit(session: AsyncSession, unit_id: uuid.UUID) -> None:
    """Delete a unit and its lessons; lessons that required them require their prerequisite."""
    course, unit = await _unit(session, unit_id)
    lessons = await repository.lessons_of_course(session, course.id)
    doomed = {lesson.id for lesson in lessons if lesson.unit_id == unit.id}
    relinked = _relink(lessons, doomed)
    media = await repository.media_of(session, Exercise.lesson_id.in_(doomed))
    await session.flush()
    await session.delete(unit)
    await session.flush()
    await media_repository.refresh_reference_counts(session, media)
    _renumber(await repository.units_in_order(session, course.id), UNIT_BASE)
    await session.flush()
    await _keep_playable(session, course)
    await versions.content_changed(
        session, course.id, lesson_ids=tuple(lesson.id for lesson in relinked)
    )


# --------------------------------------------------------------------------- lessons


async def create_lesson(session: AsyncSession, unit_id: uuid.UUID, data: LessonCreate) -> Lesson:
    """A new lesson of a unit, at `position` or last."""
    course, unit = await _unit(session, unit_id)
    if data.prerequisite_lesson_id is not None:
        await _check_prerequisite(session, course.id, None, data.prerequisite_lesson_id)
    lessons = await repository.lessons_in_order(session, unit.id)
    lesson = Lesson(
        unit_id=unit.id, course_id=unit.course_id, **data.model_dump(exclude={"position"})
    )
    session.add(lesson)
    _insert(lessons, lesson, data.position, LESSON_BASE)
    await session.flush()
    await versions.content_changed(session, course.id, lesson_ids=(lesson.id,))
    await session.refresh(lesson)
    return lesson


async def _lesson(session: AsyncSession, lesson_id: uuid.UUID) -> tuple[Course, Lesson]:
    course = _found(await repository.lock_course_of_lesson(session, lesson_id), "lesson")
    lesson = await session.get(Lesson, lesson_id, populate_existing=True)
    if lesson is None:
        raise NotFound("No such lesson.")
    return course, lesson


async def update_lesson(
    session: AsyncSession, lesson_id: uuid.UUID, changes: LessonUpdate
) -> Lesson:
    """Change a lesson; `unit_id` moves it to another unit of the course."""
    course, lesson = await _lesson(session, lesson_id)
    changed = _changes(
        lesson, changes.model_dump(exclude_unset=True, exclude={"position", "unit_id"})
    )
    prerequisite = changed.get("prerequisite_lesson_id")
    if prerequisite is not None:
        await _check_prerequisite(session, course.id, lesson.id, prerequisite)
    target_unit = changes.unit_id if changes.unit_id is not None else lesson.unit_id
    moved = False
    if target_unit != lesson.unit_id:
        if await repository.unit_of_course(session, target_unit, course.id) is None:
            raise InvalidContent([("unit_id", "unit_id must be a unit of the lesson's course.")])
        old_siblings = await repository.lessons_in_order(session, lesson.unit_id)
        new_siblings = await repository.lessons_in_order(session, target_unit)
        lesson.unit_id = target_unit
        _renumber([item for item in old_siblings if item is not lesson], LESSON_BASE)
        _insert(new_siblings, lesson, changes.position, LESSON_BASE)
        moved = True
    elif changes.position is not None:
        siblings = await repository.lessons_in_order(session, lesson.unit_id)
        moved = _move(siblings, lesson, changes.position, LESSON_BASE)
    if changed or moved:
        for name, value in changed.items():
            setattr(lesson, name, value)
        await session.flush()
        await versions.content_changed(session, course.id, lesson_ids=(lesson.id,))
    await session.refresh(lesson)
    return lesson


async def delete_lesson(session: AsyncSession, lesson_id: uuid.UUID) -> None:
    """Delete a lesson and its exercises; lessons that required it require its prerequisite."""
    course, lesson = await _lesson(session, lesson_id)
    relinked = _relink(await repository.lessons_of_course(session, course.id), {lesson.id})
    media = await repository.media_of(session, Exercise.lesson_id == lesson.id)
    await session.flush()
    unit_id = lesson.unit_id
    await session.delete(lesson)
    await session.flush()
    await media_repository.refresh_reference_counts(session, media)
    _renumber(await repository.lessons_in_order(session, unit_id), LESSON_BASE)
    await session.flush()
    await _keep_playable(session, course)
    await versions.content_changed(
        session, course.id, lesson_ids=tuple(item.id for item in relinked)
    )


# --------------------------------------------------------------------------- exercises

_CHECKED = (
    "type",
    "answers",
    "choices",
    "distractors",
    "audio_text",
    "prompt_language",
    "answer_language",
)


def _check_exercise(course: Course, values: dict[str, Any]) -> None:
    problems = exercise_problems(
        **{name: values[name] for name in _CHECKED},
        language=course.language,
        source_language=course.source_language,
    )
    if problems:
        raise InvalidContent(problems)


async def _record_audio(
    session: AsyncSession, course: Course, exercise: Exercise, speech: Speech
) -> None:
    """Give a listening exercise the recording of its `audio_text`.

    Without a working speech engine it cannot be played, so it waits in pending_review.
    """
    if exercise.type != ExerciseType.LISTENING or exercise.audio_media_id is not None:
        return
    assert exercise.audio_text is not None  # checked by exercise_problems
    media_id = await record_speech(session, speech, course.language, exercise.audio_text)
    if media_id is None:
        if exercise.status == ExerciseStatus.PUBLISHED:
            exercise.status = ExerciseStatus.PENDING_REVIEW
        return
    exercise.audio_media_id = media_id
    await session.flush()
    await media_repository.refresh_reference_counts(session, {media_id})


def _exercise_read(
    exercise: Exercise, counts: dict[uuid.UUID, tuple[int, int]]
) -> ExerciseAdminRead:
    attempts, errors = counts.get(exercise.id, (0, 0))
    return ExerciseAdminRead.model_validate(exercise).model_copy(
        update={"attempt_count": attempts, "error_count": errors}
    )


async def create_exercise(
    session: AsyncSession, lesson_id: uuid.UUID, data: ExerciseCreate, speech: Speech
) -> ExerciseAdminRead:
    """A new exercise of a lesson, at `position` or last; listening audio is recorded."""
    course, lesson = await _lesson(session, lesson_id)
    fields = data.model_dump(exclude={"position"})
    _check_exercise(course, fields)
    exercises = await repository.exercises_in_order(session, lesson.id)
    exercise = Exercise(lesson_id=lesson.id, **fields)
    session.add(exercise)
    _insert(exercises, exercise, data.position, EXERCISE_BASE)
    await session.flush()
    await _record_audio(session, course, exercise, speech)
    await versions.content_changed(session, course.id, lesson_ids=(lesson.id,))
    await session.refresh(exercise)
    return _exercise_read(exercise, {})  # nobody has answered it yet


async def update_exercise(
    session: AsyncSession, exercise_id: uuid.UUID, changes: ExerciseUpdate, speech: Speech
) -> ExerciseAdminRead:
    """Change an exercise; new `audio_text` replaces the recording made for the old one."""
    course = _found(await repository.lock_course_of_exercise(session, exercise_id), "exercise")
    exercise = await session.get(Exercise, exercise_id, populate_existing=True)
    if exercise is None:
        raise NotFound("No such exercise.")
    changed = _changes(exercise, changes.model_dump(exclude_unset=True, exclude={"position"}))
    if changed:
        _check_exercise(
            course, {name: changed.get(name, getattr(exercise, name)) for name in _CHECKED}
        )
    moved = False
    if changes.position is not None:
        siblings = await repository.exercises_in_order(session, exercise.lesson_id)
        moved = _move(siblings, exercise, changes.position, EXERCISE_BASE)
    if changed or moved:
        detached = exercise.audio_media_id if "audio_text" in changed else None
        if detached is not None:
            exercise.audio_media_id = None
        for name, value in changed.items():
            setattr(exercise, name, value)
        await session.flush()
        if detached is not None:
            await media_repository.refresh_reference_counts(session, {detached})
        await _record_audio(session, course, exercise, speech)
        await session.flush()
        await _keep_playable(session, course)
        await versions.content_changed(session, course.id, lesson_ids=(exercise.lesson_id,))
    await session.refresh(exercise)
    return _exercise_read(exercise, await repository.first_answer_counts(session, [exercise.id]))


async def delete_exercise(session: AsyncSession, exercise_id: uuid.UUID) -> None:
    """Delete an exercise (learners' answers to it go too)."""
    course = _found(await repository.lock_course_of_exercise(session, exercise_id), "exercise")
    exercise = await session.get(Exercise, exercise_id, populate_existing=True)
    if exercise is None:
        raise NotFound("No such exercise.")
    lesson_id = exercise.lesson_id
    media = {exercise.audio_media_id} if exercise.audio_media_id else set()
    await session.delete(exercise)
    await session.flush()
    await media_repository.refresh_reference_counts(session, media)
    _renumber(await repository.exercises_in_order(session, lesson_id), EXERCISE_BASE)
    await session.flush()
    await _keep_playable(session, course)
    await versions.content_changed(session, course.id, lesson_ids=(lesson_id,))
