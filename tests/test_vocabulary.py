"""Vocabulary: the word catalogue (search, cache, index), CSV imports, and word-bank packs."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, text
from typer.testing import CliRunner, Result

from linguo.cli import app as cli_app
from linguo.config import get_settings
from linguo.core.db import Database
from linguo.core.pagination import PageParams, paginate
from linguo.core.security import create_access_token
from linguo.language.text import fold
from linguo.models.identity import Role, User
from linguo.vocabulary.csv_format import (
    VocabularyFileError,
    parse_vocabulary_csv,
    read_vocabulary_csv,
)
from linguo.vocabulary.repository import search_words_query
from linguo.vocabulary.service import ImportReport, import_words
from tests.conftest import (
    TEST_SECRET,
    TestServers,
    client_for,
    execute,
    make_settings,
    running_app,
    scalar,
)

API = "/api/v1"
HEADER = (
    "language,word,lemma,part_of_speech,gender,source_language,translations,"
    "example,example_translation,cefr_level,frequency_rank,audio_url\n"
)
SUMMARY_FIELDS = {
    "id",
    "word",
    "language",
    "translations",
    "part_of_speech",
    "frequency_rank",
    "cefr_level",
}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["x-request-id"]
    return dict(error)


async def import_csv(database: Database, body: str, name: str = "words.csv") -> ImportReport:
    """Parse CSV text and import it in one transaction, as the CLI does."""
    entries = parse_vocabulary_csv(body, name=name)
    async with database.session() as session:
        return await import_words(session, entries)


async def word_rows(database: Database) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every stored word by (language, lemma, part of speech)."""
    async with database.session() as session:
        result = await session.execute(
            text(
                "SELECT id, language, word, lemma, part_of_speech::text AS pos, gender::text AS"
                " gender, translations, examples, cefr_level, frequency_rank, audio_url"
                " FROM vocabulary_words"
            )
        )
        return {(row.language, row.lemma, row.pos): dict(row._mapping) for row in result}


async def search(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get(f"{API}/vocabulary", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def words_of(page: dict[str, Any]) -> list[str]:
    return [item["word"] for item in page["items"]]


def word_starts(item: dict[str, Any]) -> set[str]:
    """Every prefix of every word of a listed word and its translations, folded."""
    texts = [item["word"], *(alt for alts in item["translations"].values() for alt in alts)]
    parts = re.split(r"[^\w]+", fold(" ".join(texts)))
    return {part[:n] for part in parts for n in range(1, len(part) + 1)}


async def make_user(database: Database, role: Role = Role.STUDENT) -> dict[str, str]:
    """A user stored directly, and auth headers for them (no password hashing: fast)."""
    user = User(email=f"{uuid.uuid4().hex[:12]}@example.com", password_hash="!", role=role)
    async with database.session() as session:
        session.add(user)
        await session.flush()
        user_id = user.id
    token, _ = create_access_token(
        user_id=user_id, role=role.value, key=TEST_SECRET, issuer="linguo", minutes=30
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def learner(database: Database) -> dict[str, str]:
    return await make_user(database)


@pytest.fixture
async def admin(database: Database) -> dict[str, str]:
    return await make_user(database, Role.ADMIN)


# Listing, paging and ordering

RANKED = HEADER + (
    "fr,rare,,adjective,,en,rare,,,,30,\n"
    "fr,souvent,,adverb,,en,often,,,A2,10,\n"
    "fr,moyen,,adjective,,en,average,,,,20,\n"
    "fr,zzzinconnu,,noun,,en,unknown thing,,,,,\n"
    "es,hola,,interjection,,en,hello,,,A1,1,\n"
)


async def test_vocabulary_routes_require_authentication(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(f"{API}/vocabulary"), 401, "not_authenticated")
    assert_error(await client.get(f"{API}/vocabulary/1"), 401, "not_authenticated")
    bad = {"Authorization": "Bearer not-a-token"}
    assert_error(await client.get(f"{API}/vocabulary", headers=bad), 401, "invalid_token")


async def test_list_pages_most_frequent_first_with_unranked_last(
    client: httpx.AsyncClient, database: Database, learner: dict[str, str]
) -> None:
    await import_csv(database, RANKED)
    assert (
        await scalar(
            database, "SELECT frequency_rank FROM vocabulary_words WHERE word = 'zzzinconnu'"
        )
        is None
    )

    first = await search(client, learner, language="fr", limit=2)
    assert set(first) == {"items", "total", "limit", "offset"}
    assert (first["total"], first["limit"], first["offset"]) == (4, 2, 0)
    assert words_of(first) == ["souvent", "moyen"]
    assert set(first["items"][0]) == SUMMARY_FIELDS
    assert first["items"][0]["translations"] == {"en": ["often"]}
    assert (first["items"][0]["frequency_rank"], first["items"][0]["cefr_level"]) == (10, "A2")

    second = await search(client, learner, language="fr", limit=2, offset=2)
    assert words_of(second) == ["rare", "zzzinconnu"]
    assert (second["total"], second["offset"]) == (4, 2)
    past_the_end = await search(client, learner, language="fr", offset=10)
    assert (past_the_end["items"], past_the_end["total"]) == ([], 4)

    everything = await search(client, learner)
    assert words_of(everything) == ["hola", "souvent", "moyen", "rare", "zzzinconnu"]
    assert (everything["total"], everything["limit"]) == (5, 20)
    assert words_of(await search(client, learner, language="es")) == ["hola"]
    assert (await search(client, learner, language="de"))["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 101},
        {"limit": 0},
        {"offset": -1},
        {"limit": "ten"},
        {"language": "FRENCH"},
        {"language": "f"},
        {"search": ""},
        {"search": "x" * 101},
    ],
)
async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, learner: dict[str, str], params: dict[str, Any]
) -> None:
    response = await client.get(f"{API}/vocabulary", params=params, headers=learner)
    error = assert_error(response, 422, "validation_error")
    assert any(next(iter(params)) in detail["loc"] for detail in error["details"])


# Search


async def test_search_is_an_accent_and_case_insensitive_word_prefix(
    client: httpx.AsyncClient, learner: dict[str, str], demo_vocabulary: dict[tuple[str, str], int]
) -> None:
    for term in ("eco", "ECOL", "École", "écol", "école"):
        page = await search(client, learner, search=term, language="fr")
        assert "école" in words_of(page), term
        for item in page["items"]:  # nothing that does not match
            assert fold(term) in word_starts(item), (term, item)
    # words after the first one count: "vous" finds "s'il vous plaît"
    assert "s'il vous plaît" in words_of(await search(client, learner, search="vous"))
    assert "au revoir" in words_of(await search(client, learner, search="REV"))


async def test_a_search_must_start_a_word(
    client: httpx.AsyncClient, database: Database, learner: dict[str, str]
) -> None:
    await import_csv(
        database, HEADER + "fr,école,,noun,f,en,school,,,,,\nfr,bateau,,noun,m,en,boat,,,,,\n"
    )
    assert words_of(await search(client, learner, search="ECOL")) == ["école"]
    assert words_of(await search(client, learner, search="boa")) == ["bateau"]
    for inside in ("cole", "ole", "ateau", "chool", "oat"):
        assert (await search(client, learner, search=inside))["total"] == 0, inside


async def test_search_matches_translations_in_every_source_language(
    client: httpx.AsyncClient, learner: dict[str, str], demo_vocabulary: dict[tuple[str, str], int]
) -> None:
    assert words_of(await search(client, learner, search="cat"))[0] == "chat"
    assert "chat" in words_of(await search(client, learner, search="gato"))
    assert "école" in words_of(await search(client, learner, search="school"))
    assert "école" in words_of(await search(client, learner, search="escuela"))
    # Accents of translations are ignored too: "dias" finds "buenos días" (bonjour).
    assert "bonjour" in words_of(await search(client, learner, search="DIAS"))
    assert (await search(client, learner, search="cat", language="es"))["total"] == 0


async def test_search_with_punctuation_finds_the_word(
    client: httpx.AsyncClient, learner: dict[str, str], demo_vocabulary: dict[tuple[str, str], int]
) -> None:
    for term, expected in [
        ("s'il vous", "s'il vous plaît"),
        ("S'IL VOUS PLAIT", "s'il vous plaît"),
        ("excusez-moi", "excusez-moi"),
        ("excusez-m", "excusez-moi"),
        ("au revoir", "au revoir"),
        ("ça va", "ça va"),
    ]:
        assert words_of(await search(client, learner, search=term))[:1] == [expected], term


async def test_an_exact_word_match_ranks_before_prefixes_and_translations(
    client: httpx.AsyncClient, database: Database, learner: dict[str, str]
) -> None:
    await import_csv(
        database,
        HEADER
        + "fr,bavarder,,verb,,en,chat|talk,,,,1,\n"
        + "fr,chatouiller,,verb,,en,tickle,,,,5,\n"
        + "fr,Chat,chat,noun,m,en,cat,,,,900,\n"
        + "fr,chaton,,noun,m,en,kitten,,,,800,\n",
    )
    page = await search(client, learner, search="chat")
    # exact word first, then words starting with it by frequency, then translation matches
    assert words_of(page) == ["Chat", "chatouiller", "chaton", "bavarder"]
    assert words_of(await search(client, learner, search="CHATO")) == ["chatouiller", "chaton"]
    assert words_of(await search(client, learner, search="chaton")) == ["chaton"]


@pytest.mark.parametrize(
    "term", ["%", "_", "%%", "\\", "_cole", "%cole", "e_ole", "%a", "b%u", " ", "'-'"]
)
async def test_like_wildcards_in_a_search_are_literal(
    client: httpx.AsyncClient, learner: dict[str, str], database: Database, term: str
) -> None:
    await import_csv(
        database,
        HEADER + "fr,école,,noun,f,en,school,,,,,\nfr,bateau,,noun,m,en,boat,,,,,\n",
    )
    assert (await search(client, learner))["total"] == 2
    page = await search(client, learner, search=term)
    assert (page["items"], page["total"]) == ([], 0), term


# Reading one word


async def test_read_a_word_with_gender_examples_and_audio(
    client: httpx.AsyncClient, learner: dict[str, str], database: Database
) -> None:
    await import_csv(
        database,
        HEADER
        + "fr,école,,noun,f,en,school,Je vais à l'école.,I go to school.,A1,,https://cdn.example.com/ecole.mp3\n"
        + 'fr,école,,noun,f,es,escuela|colegio,Je vais à l\'école.,"Voy a la escuela.",A1,,\n'
        + "fr,école,,noun,f,es,,L'école est fermée.,La escuela está cerrada.,,,\n"
        + "fr,chat,,noun,m,en,cat,,,A1,,\n",
    )
    ids = {key[1]: row["id"] for key, row in (await word_rows(database)).items()}

    response = await client.get(f"{API}/vocabulary/{ids['école']}", headers=learner)
    assert response.status_code == 200, response.text
    word = response.json()
    assert word["id"] == ids["école"]
    assert (word["word"], word["lemma"], word["language"]) == ("école", "école", "fr")
    assert (word["part_of_speech"], word["gender"], word["cefr_level"]) == (
        "noun",
        "feminine",
        "A1",
    )
    assert word["translations"] == {"en": ["school"], "es": ["escuela", "colegio"]}
    assert word["examples"] == [
        {
            "text": "Je vais à l'école.",
            "translations": {"en": "I go to school.", "es": "Voy a la escuela."},
        },
        {"text": "L'école est fermée.", "translations": {"es": "La escuela está cerrada."}},
    ]
    assert word["audio_url"] == "https://cdn.example.com/ecole.mp3"
    assert isinstance(word["frequency_rank"], int) and word["frequency_rank"] > 0

    chat = (await client.get(f"{API}/vocabulary/{ids['chat']}", headers=learner)).json()
    assert (chat["gender"], chat["examples"], chat["audio_url"]) == ("masculine", [], None)


async def test_reading_an_unknown_or_invalid_word_id(
    client: httpx.AsyncClient, learner: dict[str, str]
) -> None:
    assert_error(await client.get(f"{API}/vocabulary/999999", headers=learner), 404, "not_found")
    for bad in ("0", "-1", "abc", "1.5", str(2**31)):
        response = await client.get(f"{API}/vocabulary/{bad}", headers=learner)
        assert_error(response, 422, "validation_error")


# The trigram index serves the search


async def test_search_uses_the_trigram_index(
    client: httpx.AsyncClient, database: Database, servers: TestServers, learner: dict[str, str]
) -> None:
    await execute(
        database,
        """
        INSERT INTO vocabulary_words (language, word, lemma, part_of_speech, translations,
                                      frequency_rank)
        SELECT 'fr', w, w, 'noun', jsonb_build_object('en', jsonb_build_array('t' || w)), i
        FROM (SELECT i, 'mot' || md5(i::text) AS w FROM generate_series(1, 5000) AS i) AS s
        """,
    )
    await import_csv(database, HEADER + "fr,école,,noun,f,en,school,,,,,\n")
    connection = await asyncpg.connect(servers.database_url)
    try:
        # VACUUM also empties the GIN index's pending list, as autovacuum would
        await connection.execute("VACUUM ANALYZE vocabulary_words")
        # the statement as the app runs it (one page and the total), with its bind
        # parameters sent apart, as SQLAlchemy's asyncpg dialect sends them
        stmt = search_words_query(language="fr", search="eco")
        paged = stmt.add_columns(func.count().over()).limit(20).offset(0)
        dialect = database.engine.dialect  # the app's: asyncpg
        compiled = paged.compile(dialect=dialect)
        params = [compiled.params[name] for name in compiled.positiontup or []]
        plans = [await connection.fetch(f"EXPLAIN {compiled.string}", *params)]
        inline = stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        plans.append(await connection.fetch(f"EXPLAIN {inline.string}"))
    finally:
        await connection.close()
    for rows in plans:
        plan = "\n".join(row[0] for row in rows)
        assert "Bitmap Index Scan on ix_vocabulary_words_search_text" in plan, plan
        assert "Seq Scan" not in plan, plan

    async with database.session() as session:
        found, total = await paginate(session, stmt, PageParams(limit=20))
    assert ([word.word for word in found], total) == (["école"], 1)
    assert words_of(await search(client, learner, search="eco")) == ["école"]
    assert (await search(client, learner, search="mot"))["total"] == 5000
    assert (await search(client, learner, search="tmot"))["total"] == 5000


# Caching


async def test_a_repeated_page_comes_from_the_cache_until_an_import(
    client: httpx.AsyncClient, database: Database, learner: dict[str, str]
) -> None:
    await import_csv(database, HEADER + "fr,chat,,noun,m,en,cat,,,,,\n")
    first = await search(client, learner, search="chat")
    assert first["items"][0]["translations"] == {"en": ["cat"]}

    # behind the service's back: the cached page does not notice
    await execute(database, """UPDATE vocabulary_words SET translations = '{"en": ["kitty"]}'""")
    assert await search(client, learner, search="chat") == first
    # another page is not cached yet and sees the row as it is
    other = await search(client, learner, search="chat", limit=5)
    assert other["items"][0]["translations"] == {"en": ["kitty"]}

    report = await import_csv(database, HEADER + "fr,chien,,noun,m,en,dog,,,,,\n")
    assert (report.created, report.merged) == (1, 0)
    fresh = await search(client, learner, search="chat")
    assert fresh["items"][0]["translations"] == {"en": ["kitty"]}
    assert (await search(client, learner))["total"] == 2


async def test_the_cache_works_with_redis(servers: TestServers, database: Database) -> None:
    await import_csv(database, HEADER + "fr,chat,,noun,m,en,cat,,,,,\n")
    settings = make_settings(servers, redis_url=servers.redis_url)
    async with running_app(settings) as application, client_for(application) as http:
        headers = await make_user(database)
        first = await search(http, headers, search="chat")
        redis = Redis.from_url(servers.redis_url, decode_responses=True)
        try:
            keys = [key async for key in redis.scan_iter(match="linguo:cache:vocabulary:*")]
        finally:
            await redis.aclose()
        assert len(keys) == 1, keys

        await execute(
            database, """UPDATE vocabulary_words SET translations = '{"en": ["kitty"]}'"""
        )
        assert await search(http, headers, search="chat") == first
        await import_csv(database, HEADER + "fr,chien,,noun,m,en,dog,,,,,\n")
        fresh = await search(http, headers, search="chat")
        assert fresh["items"][0]["translations"] == {"en": ["kitty"]}


# Importing and merging


async def test_rows_of_one_word_in_two_source_languages_become_one_word(
    database: Database,
) -> None:
    report = await import_csv(
        database,
        HEADER
        + "fr,école,,noun,f,en,school,Je vais à l'école.,I go to school.,A1,,\n"
        + "fr,école,,noun,f,es,escuela|colegio,Je vais à l'école.,Voy a la escuela.,A1,,\n",
    )
    assert report == ImportReport(rows=2, words=1, created=1, merged=0)
    rows = await word_rows(database)
    assert list(rows) == [("fr", "école", "noun")]
    word = rows[("fr", "école", "noun")]
    assert word["translations"] == {"en": ["school"], "es": ["escuela", "colegio"]}
    assert word["examples"] == [
        {
            "text": "Je vais à l'école.",
            "translations": {"en": "I go to school.", "es": "Voy a la escuela."},
        }
    ]
    assert (word["gender"], word["cefr_level"]) == ("feminine", "A1")


async def test_homographs_with_different_parts_of_speech_stay_apart(database: Database) -> None:
    await import_csv(
        database,
        HEADER
        + "fr,bien,,adverb,,en,well|fine,,,A1,,\n"
        + "fr,bien,,noun,m,en,good|property,,,B1,,\n"
        + "fr,bien,,adverb,,es,bien,,,A1,,\n",
    )
    rows = await word_rows(database)
    assert set(rows) == {("fr", "bien", "adverb"), ("fr", "bien", "noun")}
    assert rows[("fr", "bien", "adverb")]["translations"] == {
        "en": ["well", "fine"],
        "es": ["bien"],
    }
    assert rows[("fr", "bien", "noun")]["translations"] == {"en": ["good", "property"]}
    assert rows[("fr", "bien", "noun")]["gender"] == "masculine"


async def test_reimporting_the_same_file_changes_nothing(database: Database) -> None:
    body = HEADER + (
        "fr,école,,noun,f,en,school,Je vais à l'école.,I go to school.,A1,,\n"
        "fr,école,,noun,f,es,escuela,Je vais à l'école.,Voy a la escuela.,A1,,\n"
        "fr,bien,,adverb,,en,well,,,A1,12,\n"
        "fr,bien,,noun,m,en,good,,,B1,,\n"
    )
    first = await import_csv(database, body)
    before = await word_rows(database)
    again = await import_csv(database, body)
    assert (first.created, first.merged) == (3, 0)
    assert (again.rows, again.words, again.created, again.merged) == (4, 3, 0, 3)
    assert await word_rows(database) == before
    assert await scalar(database, "SELECT count(*) FROM vocabulary_words") == 3


async def test_a_later_import_adds_to_a_word_without_losing_anything(database: Database) -> None:
    await import_csv(
        database,
        HEADER
        + "fr,chat,,noun,m,en,cat,Le chat dort.,The cat sleeps.,A1,,https://a.example/chat.mp3\n",
    )
    (word_id,) = [row["id"] for row in (await word_rows(database)).values()]
    report = await import_csv(
        database,
        HEADER
        + "fr,chat,,noun,,en,CAT|tomcat,Le chat dort.,,,,\n"
        + "fr,chat,,noun,,de,Katze,Le chat dort.,Die Katze schläft.,,,\n"
        + "fr,chat,,noun,,es,gato,Un chat noir.,Un gato negro.,,,\n",
    )
    assert (report.created, report.merged) == (0, 1)
    word = (await word_rows(database))[("fr", "chat", "noun")]
    assert word["id"] == word_id
    assert word["translations"] == {"en": ["cat", "tomcat"], "de": ["Katze"], "es": ["gato"]}
    assert word["examples"] == [
        {
            "text": "Le chat dort.",
            "translations": {"en": "The cat sleeps.", "de": "Die Katze schläft."},
        },
        {"text": "Un chat noir.", "translations": {"es": "Un gato negro."}},
    ]
    # what the later rows leave empty is kept
    assert (word["gender"], word["cefr_level"]) == ("masculine", "A1")
    assert word["audio_url"] == "https://a.example/chat.mp3"


async def test_frequency_rank_is_estimated_when_empty_and_kept_when_given(
    database: Database,
) -> None:
    await import_csv(
        database,
        HEADER
        + "fr,ornithorynque,,noun,m,en,platypus,,,,,\n"
        + "fr,être,,verb,,en,to be,,,,,\n"
        + "fr,chat,,noun,m,en,cat,,,,7,\n"
        + "fr,chat,,noun,m,es,gato,,,,,\n",
    )
    rows = await word_rows(database)
    common = rows[("fr", "être", "verb")]["frequency_rank"]
    rare = rows[("fr", "ornithorynque", "noun")]["frequency_rank"]
    assert isinstance(common, int) and isinstance(rare, int)
    assert 1 <= common < 1000 < rare
    # the given rank wins over an estimate from another row of the same word
    assert rows[("fr", "chat", "noun")]["frequency_rank"] == 7

    # and over the estimate of a later import that gives none
    await import_csv(database, HEADER + "fr,chat,,noun,m,de,Katze,,,,,\n")
    assert (await word_rows(database))[("fr", "chat", "noun")]["frequency_rank"] == 7
    # a later import that gives a rank replaces it
    await import_csv(database, HEADER + "fr,chat,,noun,m,de,Katze,,,,9,\n")
    assert (await word_rows(database))[("fr", "chat", "noun")]["frequency_rank"] == 9


async def test_the_lemma_defaults_to_the_dictionary_form(database: Database) -> None:
    await import_csv(
        database,
        HEADER
        + "fr,chat,,noun,m,en,cat,,,A1,,\n"
        + "fr,chats,,noun,m,es,gatos,Les chats dorment.,Los gatos duermen.,,,\n"
        + "fr,s'il vous plaît,,,,en,please,,,,,\n",
    )
    rows = await word_rows(database)
    assert set(rows) == {("fr", "chat", "noun"), ("fr", "s'il vous plaît", "phrase")}
    chat = rows[("fr", "chat", "noun")]
    assert chat["translations"] == {"en": ["cat"], "es": ["gatos"]}
    assert chat["examples"][0]["text"] == "Les chats dorment."
    # the dictionary form stays the word shown, not the plural merged into it
    assert chat["word"] == "chat"


BAD_ROWS: list[tuple[str, str]] = [
    ("fr,chat,,nounn,m,en,cat,,,,,", "part_of_speech 'nounn' is not one of"),
    ("fr,chat,,noun,x,en,cat,,,,,", "gender 'x' is not m, f or n"),
    ("fr,chat,,noun,m,,cat,,,,,", "translations need a source_language"),
    ("fr,chat,,noun,m,en,cat,,,Z9,,", "cefr_level 'Z9' is not one of"),
    ("fr,chat,,noun,m,en,cat,,,,often,", "frequency_rank 'often' is not a positive whole number"),
    ("fr,chat,,noun,m,en,cat,,,,0,", "frequency_rank '0' is not a positive whole number"),
    ("French,chat,,noun,m,en,cat,,,,,", "language 'French' is not a language code"),
    ("fr,,,noun,m,en,cat,,,,,", "word is empty"),
    ("fr,chat,,noun,m,en,cat||kitty,,,,,", "translations has an empty alternative"),
    ("fr,chat,,noun,m,en,cat,,Le chat.,,,", "example_translation needs an example"),
    ("fr,chat,,noun,m,en,cat,,,,,ftp://x", "audio_url 'ftp://x' is not an http(s) URL"),
    ("fr,chat,,noun,m,en,cat,,,,,,extra", "more cells than columns"),
]


@pytest.mark.parametrize(("row", "problem"), BAD_ROWS)
def test_a_bad_row_is_reported_with_its_file_and_line(row: str, problem: str) -> None:
    body = HEADER + "fr,chien,,noun,m,en,dog,,,,,\n" + row + "\n"
    with pytest.raises(VocabularyFileError) as raised:
        parse_vocabulary_csv(body, name="words.csv")
    assert len(raised.value.errors) == 1, raised.value.errors
    assert raised.value.errors[0].startswith(f"words.csv:3: {problem}"), raised.value.errors


def test_every_bad_row_is_reported_not_just_the_first() -> None:
    body = HEADER + "".join(f"{row}\n" for row, _ in BAD_ROWS[:5])
    with pytest.raises(VocabularyFileError) as raised:
        parse_vocabulary_csv(body, name="big.csv")
    assert [error.split(": ", 1)[0] for error in raised.value.errors] == [
        f"big.csv:{line}" for line in range(2, 7)
    ]
    for error, (_, problem) in zip(raised.value.errors, BAD_ROWS[:5], strict=True):
        assert problem in error


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("language,word,colour\n", "words.csv:1: unknown column 'colour'"),
        ("language,lemma\n", "words.csv:1: missing required column 'word'"),
        ("", "words.csv:1: missing required column 'language'"),
    ],
)
def test_bad_headers_are_reported(header: str, problem: str) -> None:
    with pytest.raises(VocabularyFileError) as raised:
        parse_vocabulary_csv(header + "fr,chat,x\n" if header else "", name="words.csv")
    assert problem in raised.value.errors


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "fr,élève,,noun,,en,pupil,,,,,\n").encode("latin-1"))
    with pytest.raises(VocabularyFileError) as raised:
        read_vocabulary_csv(path)
    assert raised.value.errors[0].startswith(f"{path}: not UTF-8")


# The import-vocabulary command


CliRun = Callable[..., Awaitable[Result]]


@pytest.fixture
def cli(servers: TestServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRun]:
    """Run `linguo ...` in-process (in a thread: the command runs its own event loop)."""
    monkeypatch.chdir(tmp_path)  # no .env file of the developer is read
    env = {
        "LINGUO_DATABASE_URL": servers.database_url,
        "LINGUO_SECRET_KEY": TEST_SECRET,
        "LINGUO_ENV": "test",
        "LINGUO_LOG_LEVEL": "WARNING",
        "LINGUO_REDIS_URL": "",
    }
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)

    async def run(*args: str) -> Result:
        get_settings.cache_clear()
        try:
            return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args), env=env)
        finally:
            get_settings.cache_clear()
            root.handlers[:], level = saved
            root.setLevel(level)

    yield run


async def test_cli_imports_a_file_and_invalidates_cached_pages(
    cli: CliRun,
    tmp_path: Path,
    client: httpx.AsyncClient,
    database: Database,
    learner: dict[str, str],
) -> None:
    assert (await search(client, learner))["total"] == 0  # now cached
    path = tmp_path / "words.csv"
    path.write_text(
        HEADER
        + "fr,école,,noun,f,en,school,,,A1,,\n"
        + "fr,école,,noun,f,es,escuela,,,A1,,\n"
        + "fr,chat,,noun,m,en,cat,,,A1,,\n",
        encoding="utf-8",
    )
    result = await cli("import-vocabulary", str(path))
    assert result.exit_code == 0, result.output
    assert "imported 3 rows as 2 words: 2 new, 0 merged into existing words" in result.stdout
    page = await search(client, learner)
    assert sorted(words_of(page)) == ["chat", "école"]

    again = await cli("import-vocabulary", str(path))
    assert again.exit_code == 0, again.output
    assert "2 words: 0 new, 2 merged" in again.stdout
    assert await scalar(database, "SELECT count(*) FROM vocabulary_words") == 2


async def test_cli_imports_nothing_when_any_row_is_bad(
    cli: CliRun, tmp_path: Path, database: Database
) -> None:
    await import_csv(database, HEADER + "fr,chat,,noun,m,en,cat,,,,,\n")
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER
        + "fr,chien,,noun,m,en,dog,,,,,\n"
        + "fr,chat,,noun,m,es,gato,,,,,\n"
        + "fr,oiseau,,nounn,m,en,bird,,,,,\n"
        + "fr,poisson,,noun,q,en,fish,,,,,\n"
        + "fr,lapin,,noun,m,,rabbit,,,,,\n",
        encoding="utf-8",
    )
    result = await cli("import-vocabulary", str(path))
    assert result.exit_code == 1
    assert f"{path}:4: part_of_speech 'nounn'" in result.stderr
    assert f"{path}:5: gender 'q'" in result.stderr
    assert f"{path}:6: translations need a source_language" in result.stderr
    assert "nothing was imported" in result.stderr
    assert "imported" not in result.stdout
    assert await scalar(database, "SELECT count(*) FROM vocabulary_words") == 1
    assert await scalar(database, "SELECT translations::text FROM vocabulary_words") == (
        '{"en": ["cat"]}'
    )

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes((HEADER + "fr,élève,,noun,,en,pupil,,,,,\n").encode("latin-1"))
    result = await cli("import-vocabulary", str(latin1))
    assert result.exit_code == 1 and "not UTF-8" in result.stderr
    missing = await cli("import-vocabulary", str(tmp_path / "absent.csv"))
    assert missing.exit_code == 1 and "cannot be read" in missing.stderr
    assert await scalar(database, "SELECT count(*) FROM vocabulary_words") == 1


async def test_cli_generates_a_sample_that_imports_cleanly(
    cli: CliRun, tmp_path: Path, database: Database
) -> None:
    path = tmp_path / "sample.csv"
    result = await cli("import-vocabulary", str(path), "--generate-sample")
    assert result.exit_code == 0, result.output
    sample = path.read_text(encoding="utf-8")
    assert sample.splitlines()[0] == HEADER.strip()

    refused = await cli("import-vocabulary", str(path), "--generate-sample")
    assert refused.exit_code == 1 and "already exists" in refused.stderr
    assert path.read_text(encoding="utf-8") == sample

    imported = await cli("import-vocabulary", str(path))
    assert imported.exit_code == 0, imported.output
    rows = await word_rows(database)
    assert rows[("fr", "école", "noun")]["translations"] == {
        "en": ["school"],
        "es": ["escuela"],
    }
    assert {("fr", "bien", "adverb"), ("fr", "bien", "noun"), ("fr", "chat", "noun")} <= set(rows)
    assert ("es", "gracias", "interjection") in rows
    assert await scalar(database, "SELECT count(*) FROM cache_generations") == 1


# Packs: administration


async def _fr_words(database: Database, *words: str) -> list[int]:
    await import_csv(
        database,
        HEADER
        + "".join(
            f"fr,{word},,noun,,en,{word}-en,,,,{rank},\n" for rank, word in enumerate(words, 100)
        ),
    )
    rows = await word_rows(database)
    return [rows[("fr", word, "noun")]["id"] for word in words]


def pack_body(word_ids: list[int], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Animals",
        "description": "Pets and farm animals",
        "language": "fr",
        "source_language": "en",
        "cefr_level": "A1",
        "word_ids": word_ids,
    }
    body.update(fields)
    return body


async def test_admin_pack_lifecycle(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    chat, chien, vache, cheval = await _fr_words(database, "chat", "chien", "vache", "cheval")
    created = await client.post(
        f"{API}/admin/packs", json=pack_body([vache, chat, chien]), headers=admin
    )
    assert created.status_code == 201, created.text
    pack = created.json()
    assert [word["id"] for word in pack["words"]] == [vache, chat, chien]
    assert [word["word"] for word in pack["words"]] == ["vache", "chat", "chien"]
    assert (pack["word_count"], pack["is_published"], pack["subscribed"]) == (3, True, False)
    assert (pack["title"], pack["cefr_level"], pack["language"]) == ("Animals", "A1", "fr")

    hidden = await client.post(
        f"{API}/admin/packs",
        json=pack_body([cheval], title="Drafts", is_published=False),
        headers=admin,
    )
    assert hidden.status_code == 201, hidden.text
    listed = (await client.get(f"{API}/admin/packs", headers=admin)).json()
    assert [(p["title"], p["is_published"], p["word_count"]) for p in listed["items"]] == [
        ("Animals", True, 3),
        ("Drafts", False, 1),
    ]
    assert listed["total"] == 2

    url = f"{API}/admin/packs/{pack['id']}"
    assert (await client.get(url, headers=admin)).json()["words"] == pack["words"]
    changed = await client.patch(
        url,
        json={
            "title": "Farm",
            "is_published": False,
            "word_ids": [cheval, chat],
            "cefr_level": None,
        },
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["title"], body["is_published"], body["cefr_level"]) == ("Farm", False, None)
    assert [word["id"] for word in body["words"]] == [cheval, chat]
    assert body["description"] == "Pets and farm animals"  # absent means unchanged
    reread = (await client.get(url, headers=admin)).json()
    assert [word["id"] for word in reread["words"]] == [cheval, chat]
    assert reread["word_count"] == 2

    assert (await client.delete(url, headers=admin)).status_code == 204
    assert_error(await client.get(url, headers=admin), 404, "not_found")
    assert_error(await client.delete(url, headers=admin), 404, "not_found")
    assert_error(await client.patch(url, json={"title": "x"}, headers=admin), 404, "not_found")
    assert await scalar(database, "SELECT count(*) FROM word_pack_entries") == 1
    assert await scalar(database, "SELECT count(*) FROM vocabulary_words") == 4


async def test_pack_administration_is_for_admins_only(
    client: httpx.AsyncClient, database: Database, learner: dict[str, str]
) -> None:
    (chat,) = await _fr_words(database, "chat")
    url = f"{API}/admin/packs"
    any_id = uuid.uuid4()
    assert_error(await client.get(url, headers=learner), 403, "forbidden")
    assert_error(await client.post(url, json=pack_body([chat]), headers=learner), 403, "forbidden")
    assert_error(await client.get(f"{url}/{any_id}", headers=learner), 403, "forbidden")
    assert_error(
        await client.patch(f"{url}/{any_id}", json={"title": "x"}, headers=learner),
        403,
        "forbidden",
    )
    assert_error(await client.delete(f"{url}/{any_id}", headers=learner), 403, "forbidden")
    assert_error(await client.get(url), 401, "not_authenticated")
    assert await scalar(database, "SELECT count(*) FROM word_packs") == 0


async def test_a_pack_of_unknown_or_foreign_words_is_refused(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    (chat,) = await _fr_words(database, "chat")
    await import_csv(database, HEADER + "es,gato,,noun,m,en,cat,,,,,\n")
    gato = (await word_rows(database))[("es", "gato", "noun")]["id"]

    response = await client.post(
        f"{API}/admin/packs", json=pack_body([chat, 999999, gato, 888888]), headers=admin
    )
    error = assert_error(response, 400, "unknown_words")
    assert error["details"] == {"word_ids": [999999, gato, 888888]}
    assert await scalar(database, "SELECT count(*) FROM word_packs") == 0
    assert await scalar(database, "SELECT count(*) FROM word_pack_entries") == 0

    created = (
        await client.post(f"{API}/admin/packs", json=pack_body([chat]), headers=admin)
    ).json()
    url = f"{API}/admin/packs/{created['id']}"
    refused = await client.patch(url, json={"title": "Renamed", "word_ids": [gato]}, headers=admin)
    assert assert_error(refused, 400, "unknown_words")["details"] == {"word_ids": [gato]}
    language = await client.patch(url, json={"language": "es"}, headers=admin)
    assert assert_error(language, 400, "unknown_words")["details"] == {"word_ids": [chat]}
    unchanged = (await client.get(url, headers=admin)).json()
    assert (unchanged["title"], unchanged["language"]) == ("Animals", "fr")
    assert [word["id"] for word in unchanged["words"]] == [chat]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"word_ids": [1, 2, 1]}, "word_ids"),
        ({"word_ids": []}, "word_ids"),
        ({"word_ids": [0]}, "word_ids"),
        ({"colour": "red"}, "colour"),
        ({"title": ""}, "title"),
        ({"language": "French"}, "language"),
        ({"cefr_level": "D1"}, "cefr_level"),
    ],
)
async def test_bad_pack_bodies_are_422(
    client: httpx.AsyncClient,
    database: Database,
    admin: dict[str, str],
    change: dict[str, Any],
    field: str,
) -> None:
    chat, chien = await _fr_words(database, "chat", "chien")
    change = {
        key: [chat if v == 1 else chien if v == 2 else v for v in value]
        if key == "word_ids"
        else value
        for key, value in change.items()
    }
    body = {**pack_body([chat]), **change}
    response = await client.post(f"{API}/admin/packs", json=body, headers=admin)
    error = assert_error(response, 422, "validation_error")
    assert any(field in detail["loc"] for detail in error["details"]), error
    assert await scalar(database, "SELECT count(*) FROM word_packs") == 0

    created = (
        await client.post(f"{API}/admin/packs", json=pack_body([chat]), headers=admin)
    ).json()
    url = f"{API}/admin/packs/{created['id']}"
    assert_error(await client.patch(url, json=change, headers=admin), 422, "validation_error")


@pytest.mark.parametrize("field", ["title", "is_published", "word_ids", "language", "description"])
async def test_a_null_in_a_pack_patch_is_refused(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str], field: str
) -> None:
    (chat,) = await _fr_words(database, "chat")
    created = (
        await client.post(f"{API}/admin/packs", json=pack_body([chat]), headers=admin)
    ).json()
    url = f"{API}/admin/packs/{created['id']}"
    response = await client.patch(url, json={field: None}, headers=admin)
    assert_error(response, 422, "validation_error")
    assert (await client.get(url, headers=admin)).json() == created


# Packs: learners


async def _pack(
    client: httpx.AsyncClient, admin: dict[str, str], word_ids: list[int], **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/admin/packs", json=pack_body(word_ids, **fields), headers=admin
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _queue(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/progress/queue", params={"limit": 50}, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def _card_word_ids(database: Database) -> set[int]:
    async with database.session() as session:
        return set((await session.execute(text("SELECT word_id FROM srs_cards"))).scalars())


async def test_learners_see_published_packs_only(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str], learner: dict[str, str]
) -> None:
    chat, chien = await _fr_words(database, "chat", "chien")
    shown = await _pack(client, admin, [chat, chien], title="Pets")
    hidden = await _pack(client, admin, [chat], title="Hidden", is_published=False)

    listed = (await client.get(f"{API}/packs", headers=learner)).json()
    assert listed["total"] == 1
    (item,) = listed["items"]
    assert (item["id"], item["word_count"], item["subscribed"]) == (shown["id"], 2, False)
    detail = (await client.get(f"{API}/packs/{shown['id']}", headers=learner)).json()
    assert [word["word"] for word in detail["words"]] == ["chat", "chien"]

    assert_error(await client.get(f"{API}/packs/{hidden['id']}", headers=learner), 404, "not_found")
    assert_error(
        await client.post(f"{API}/packs/{hidden['id']}/subscribe", headers=learner),
        404,
        "not_found",
    )
    assert_error(
        await client.post(f"{API}/packs/{uuid.uuid4()}/subscribe", headers=learner),
        404,
        "not_found",
    )
    assert_error(
        await client.get(f"{API}/packs/not-a-uuid", headers=learner), 422, "validation_error"
    )
    assert_error(await client.get(f"{API}/packs"), 401, "not_authenticated")
    assert await scalar(database, "SELECT count(*) FROM pack_subscriptions") == 0
    assert (await client.get(f"{API}/packs", params={"language": "es"}, headers=learner)).json()[
        "total"
    ] == 0


async def test_subscribing_puts_the_pack_words_first_in_the_queue(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    learner: dict[str, str],
    demo_vocabulary: dict[tuple[str, str], int],
    database: Database,
) -> None:
    async with database.session() as session:
        rarest = list(
            (
                await session.execute(
                    text(
                        "SELECT id FROM vocabulary_words WHERE language = 'fr'"
                        " ORDER BY frequency_rank DESC NULLS FIRST, id LIMIT 5"
                    )
                )
            ).scalars()
        )
    before = await _queue(client, learner)
    assert not set(rarest) & {item["word_id"] for item in before}

    pack = await _pack(client, admin, rarest, title="Rare words")
    response = await client.post(f"{API}/packs/{pack['id']}/subscribe", headers=learner)
    assert response.status_code == 201, response.text
    assert response.json() == {
        "pack_id": pack["id"],
        "words_total": 5,
        "words_added": 5,
        "already_subscribed": False,
    }
    queue = await _queue(client, learner)
    assert {item["word_id"] for item in queue[:5]} == set(rarest)
    assert all(item["is_new"] and item["state"] == "new" for item in queue)
    # then the other unseen words, most frequent first, as before subscribing
    others = [item["word_id"] for item in before if item["word_id"] not in rarest]
    assert [item["word_id"] for item in queue[5:]] == others[: len(queue) - 5]

    again = await client.post(f"{API}/packs/{pack['id']}/subscribe", headers=learner)
    assert again.status_code == 201
    assert (again.json()["words_added"], again.json()["already_subscribed"]) == (0, True)
    assert await scalar(database, "SELECT count(*) FROM srs_cards") == 5
    listed = (await client.get(f"{API}/packs", headers=learner)).json()["items"]
    assert [(p["title"], p["subscribed"]) for p in listed if p["id"] == pack["id"]] == [
        ("Rare words", True)
    ]
    # another learner is not subscribed
    other = await make_user(database)
    other_view = (await client.get(f"{API}/packs/{pack['id']}", headers=other)).json()
    assert other_view["subscribed"] is False


async def test_words_the_learner_already_has_are_not_added_twice(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str], learner: dict[str, str]
) -> None:
    chat, chien, vache = await _fr_words(database, "chat", "chien", "vache")
    reviewed = await client.post(
        f"{API}/progress/review", json={"word_id": chien, "rating": 2}, headers=learner
    )
    assert reviewed.status_code == 200, reviewed.text
    pack = await _pack(client, admin, [chat, chien, vache])
    result = (await client.post(f"{API}/packs/{pack['id']}/subscribe", headers=learner)).json()
    assert (result["words_total"], result["words_added"]) == (3, 2)
    assert await scalar(database, "SELECT count(*) FROM srs_cards") == 3
    state = await scalar(database, "SELECT state::text FROM srs_cards WHERE word_id = :w", w=chien)
    assert state != "new"


async def test_unsubscribing_keeps_reviewed_cards_only(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str], learner: dict[str, str]
) -> None:
    chat, chien, vache = await _fr_words(database, "chat", "chien", "vache")
    pack = await _pack(client, admin, [chat, chien, vache])
    url = f"{API}/packs/{pack['id']}/subscribe"
    assert_error(await client.delete(url, headers=learner), 404, "not_found")
    assert (await client.post(url, headers=learner)).status_code == 201
    reviewed = await client.post(
        f"{API}/progress/review", json={"word_id": vache, "rating": 2}, headers=learner
    )
    assert reviewed.status_code == 200, reviewed.text

    response = await client.delete(url, headers=learner)
    assert response.status_code == 204 and response.content == b""
    assert await _card_word_ids(database) == {vache}
    progress = await client.get(f"{API}/progress/{vache}", headers=learner)
    assert progress.status_code == 200 and progress.json()["reps"] == 1
    assert_error(await client.delete(url, headers=learner), 404, "not_found")
    assert (await client.get(f"{API}/packs/{pack['id']}", headers=learner)).json()[
        "subscribed"
    ] is False

    # subscribing again brings the unreviewed words back
    again = (await client.post(url, headers=learner)).json()
    assert (again["words_added"], again["already_subscribed"]) == (2, False)
    assert await _card_word_ids(database) == {chat, chien, vache}


async def test_unsubscribing_keeps_words_another_subscribed_pack_gave(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str], learner: dict[str, str]
) -> None:
    chat, chien, vache = await _fr_words(database, "chat", "chien", "vache")
    pets = await _pack(client, admin, [chat, chien], title="Pets")
    animals = await _pack(client, admin, [chat, vache], title="Animals")
    assert (await client.post(f"{API}/packs/{pets['id']}/subscribe", headers=learner)).json()[
        "words_added"
    ] == 2
    assert (await client.post(f"{API}/packs/{animals['id']}/subscribe", headers=learner)).json()[
        "words_added"
    ] == 1

    await client.delete(f"{API}/packs/{pets['id']}/subscribe", headers=learner)
    # still subscribed to "Animals": both of its words stay in the queue
    assert await _card_word_ids(database) == {chat, vache}
    await client.delete(f"{API}/packs/{animals['id']}/subscribe", headers=learner)
    assert await _card_word_ids(database) == set()


async def test_deleting_a_pack_keeps_the_learners_cards(
    client: httpx.AsyncClient, database: Database, admin: dict[str, str], learner: dict[str, str]
) -> None:
    chat, chien = await _fr_words(database, "chat", "chien")
    pack = await _pack(client, admin, [chat, chien])
    assert (
        await client.post(f"{API}/packs/{pack['id']}/subscribe", headers=learner)
    ).status_code == 201
    assert (
        await client.delete(f"{API}/admin/packs/{pack['id']}", headers=admin)
    ).status_code == 204
    assert await _card_word_ids(database) == {chat, chien}
    assert await scalar(database, "SELECT count(*) FROM pack_subscriptions") == 0
    queue = await _queue(client, learner)
    assert [item["word_id"] for item in queue[:2]] == [chat, chien]
    assert_error(await client.get(f"{API}/packs/{pack['id']}", headers=learner), 404, "not_found")
    assert_error(
        await client.delete(f"{API}/packs/{pack['id']}/subscribe", headers=learner),
        404,
        "not_found",
    )
