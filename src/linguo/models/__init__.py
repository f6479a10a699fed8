"""All ORM tables, one module per domain; importing this package registers every table."""

from linguo.models.identity import Device, DevicePlatform, Plan, RefreshToken, Role, User
from linguo.models.srs import (
    CardOrigin,
    CardState,
    Flashcard,
    FlashcardEvent,
    FlashcardEventKind,
    ReviewLog,
    ReviewSource,
    SrsCard,
    SrsProfile,
)
from linguo.models.system import CacheGeneration
from linguo.models.vocabulary import (
    Gender,
    PackSubscription,
    PartOfSpeech,
    VocabularyWord,
    WordPack,
    WordPackEntry,
)

__all__ = [
    "CacheGeneration",
    "CardOrigin",
    "CardState",
    "Device",
    "DevicePlatform",
    "Flashcard",
    "FlashcardEvent",
    "FlashcardEventKind",
    "Gender",
    "PackSubscription",
    "PartOfSpeech",
    "Plan",
    "RefreshToken",
    "ReviewLog",
    "ReviewSource",
    "Role",
    "SrsCard",
    "SrsProfile",
    "User",
    "VocabularyWord",
    "WordPack",
    "WordPackEntry",
]
