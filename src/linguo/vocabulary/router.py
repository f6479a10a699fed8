"""HTTP routes of vocabulary: /vocabulary, /packs and /admin/packs."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from linguo.core.deps import AdminUser, AppCache, AppSettings, CurrentUser, DbSession, Now
from linguo.core.errors import error_responses
from linguo.core.pagination import Page, Pagination
from linguo.core.schemas import LanguageCode
from linguo.models.vocabulary import VocabularyWord
from linguo.vocabulary import service
from linguo.vocabulary.schemas import (
    PackCreate,
    PackDetail,
    PackRead,
    PackUpdate,
    Subscription,
    WordRead,
    WordSummary,
)

vocabulary_router = APIRouter(
    prefix="/vocabulary", tags=["vocabulary"], responses=error_responses(401)
)
packs_router = APIRouter(prefix="/packs", tags=["packs"], responses=error_responses(401))
admin_packs_router = APIRouter(
    prefix="/admin/packs", tags=["packs"], responses=error_responses(401, 403)
)

PackId = Annotated[uuid.UUID, Path()]


@vocabulary_router.get("", response_model=Page[WordSummary])
async def list_words(
    _user: CurrentUser,
    session: DbSession,
    cache: AppCache,
    settings: AppSettings,
    page: Pagination,
    language: LanguageCode | None = None,
    search: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="Prefix of a word, lemma or translation; case and accents ignored",
        ),
    ] = None,
) -> dict[str, Any]:
    """Words, most frequent first, or best match first when searching."""
    return await service.search_words(
        session,
        cache,
        language=language,
        search=search,
        page=page,
        ttl_seconds=settings.vocabulary_cache_seconds,
    )


@vocabulary_router.get("/{word_id}", response_model=WordRead, responses=error_responses(404))
async def read_word(
    word_id: Annotated[int, Path(ge=1, le=2_147_483_647)], _user: CurrentUser, session: DbSession
) -> VocabularyWord:
    """A word with its lemma, gender, translations, examples and audio."""
    return await service.get_word(session, word_id)


@packs_router.get("", response_model=Page[PackRead])
async def list_packs(
    user: CurrentUser, session: DbSession, page: Pagination, language: LanguageCode | None = None
) -> Page[PackRead]:
    """Published word-bank packs, by title."""
    items, total = await service.list_packs(
        session, user.id, language=language, published_only=True, page=page
    )
    return Page[PackRead](items=items, total=total, limit=page.limit, offset=page.offset)


@packs_router.get("/{pack_id}", response_model=PackDetail, responses=error_responses(404))
async def read_pack(pack_id: PackId, user: CurrentUser, session: DbSession) -> PackDetail:
    """A published pack with its words."""
    return await service.pack_detail(session, pack_id, user.id, published_only=True)


@packs_router.post(
    "/{pack_id}/subscribe",
    status_code=status.HTTP_201_CREATED,
    response_model=Subscription,
    responses=error_responses(404),
)
async def subscribe(
    pack_id: PackId, user: CurrentUser, session: DbSession, now: Now
) -> Subscription:
    """Add the pack's words to the caller's review queue (idempotent)."""
    return await service.subscribe(session, user.id, pack_id, now=now)


@packs_router.delete(
    "/{pack_id}/subscribe",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404),
)
async def unsubscribe(pack_id: PackId, user: CurrentUser, session: DbSession) -> Response:
    """Unsubscribe: the pack's words never reviewed leave the queue; reviewed ones stay."""
    await service.unsubscribe(session, user.id, pack_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_packs_router.get("", response_model=Page[PackRead])
async def admin_list_packs(
    admin: AdminUser, session: DbSession, page: Pagination, language: LanguageCode | None = None
) -> Page[PackRead]:
    """Every pack, published or not."""
    items, total = await service.list_packs(
        session, admin.id, language=language, published_only=False, page=page
    )
    return Page[PackRead](items=items, total=total, limit=page.limit, offset=page.offset)


@admin_packs_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PackDetail,
    responses=error_responses(400),
)
async def admin_create_pack(data: PackCreate, admin: AdminUser, session: DbSession) -> PackDetail:
    """Create a pack; every word must exist in its language (400 `unknown_words`)."""
    pack = await service.create_pack(session, data)
    return await service.pack_detail(session, pack.id, admin.id, published_only=False)


@admin_packs_router.get("/{pack_id}", response_model=PackDetail, responses=error_responses(404))
async def admin_read_pack(pack_id: PackId, admin: AdminUser, session: DbSession) -> PackDetail:
    """A pack, published or not, with its words."""
    return await service.pack_detail(session, pack_id, admin.id, published_only=False)


@admin_packs_router.patch(
    "/{pack_id}", response_model=PackDetail, responses=error_responses(400, 404)
)
async def admin_update_pack(
    pack_id: PackId, changes: PackUpdate, admin: AdminUser, session: DbSession
) -> PackDetail:
    """Change a pack; `word_ids` replaces its word list."""
    await service.update_pack(session, pack_id, changes)
    return await service.pack_detail(session, pack_id, admin.id, published_only=False)


@admin_packs_router.delete(
    "/{pack_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
async def admin_delete_pack(pack_id: PackId, _admin: AdminUser, session: DbSession) -> Response:
    """Delete a pack; learners keep the cards it gave them."""
    await service.delete_pack(session, pack_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
