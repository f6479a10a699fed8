"""Field types shared by the request and response bodies of every domain."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

CEFRLevel = Literal["A1", "A2", "B1", "B2", "C1", "C2"]
LanguageCode = Annotated[
    str, Field(pattern=r"^[a-z]{2,3}$", description="ISO 639-1 (or 639-3) language code")
]


def integral(value: Any) -> Any:
    """JSON Schema counts 5.0 as an integer, so take it as 5; 1.5, true and "5" stay refused.

    Use as the last annotation of a strict int: `Annotated[int, Field(strict=True, ...),
    BeforeValidator(integral)]` (it runs first, and the bounds stay in the JSON Schema).
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


NO_NUL = r"^[^\x00]*$"
"""Pattern for free text: PostgreSQL text cannot hold the NUL character."""


def refuse_nulls(model: BaseModel, *, nullable: frozenset[str] = frozenset()) -> None:
    """For PATCH bodies: absent means unchanged, so an explicit null is refused.

    Fields named in `nullable` may be cleared with null.
    """
    for name in model.model_fields_set - nullable:
        if getattr(model, name) is None:
            raise ValueError(f"{name} cannot be null")
