"""The demo vocabulary (French for English and Spanish speakers) and its word-bank packs.

Written for this project; `linguo seed` (and so `make run`) loads it.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.models.vocabulary import PartOfSpeech, WordPack
from linguo.vocabulary import repository, service
from linguo.vocabulary.csv_format import parse_vocabulary_csv
from linguo.vocabulary.schemas import PackCreate

DATA = resources.files("linguo.vocabulary") / "data"


async def seed_demo_vocabulary(session: AsyncSession) -> list[str]:
    """Import the demo words (merging is idempotent) and create the missing demo packs."""
    entries = parse_vocabulary_csv(
        (DATA / "demo_vocabulary_fr.csv").read_text(encoding="utf-8"), name="demo_vocabulary_fr.csv"
    )
    report = await service.import_words(session, entries)
    done = [f"vocabulary: {report.created} new French words"] if report.created else []
    packs: list[dict[str, Any]] = json.loads((DATA / "demo_packs.json").read_text(encoding="utf-8"))
    keys = [
        ("fr", word["lemma"], PartOfSpeech(word["part_of_speech"]))
        for pack in packs
        for word in pack["words"]
    ]
    stored = await repository.get_words_by_key(session, keys)
    for pack in packs:
        exists = await session.scalar(
            select(WordPack.id).where(
                WordPack.title == pack["title"], WordPack.language == pack["language"]
            )
        )
        if exists is not None:
            continue
        word_ids = [
            stored[(pack["language"], word["lemma"], PartOfSpeech(word["part_of_speech"]))].id
            for word in pack["words"]
        ]
        data = PackCreate(
            title=pack["title"],
            description=pack["description"],
            language=pack["language"],
            source_language=pack["source_language"],
            cefr_level=pack["cefr_level"],
            word_ids=word_ids,
        )
        await service.create_pack(session, data)
        done.append(f"pack {pack['title']!r} ({len(word_ids)} words)")
    return done
