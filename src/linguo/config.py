"""Runtime configuration: one Settings class read from `LINGUO_*` variables and `.env`."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Environment = Literal["development", "test", "production"]


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every setting Linguo reads. The README's configuration table documents each one."""

    model_config = SettingsConfigDict(
        env_prefix="LINGUO_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    env: Environment = "development"
    data_dir: Path = Path(".linguo")

    database_url: str | None = None
    db_pool_size: int = Field(default=20, ge=1, le=200)
    # No overflow by default: under sustained load the pool opens and closes overflow
    # connections request after request, and each costs a PostgreSQL backend's start, the
    # driver's type introspection and every statement prepared again (bench/RESULTS.md).
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    db_pool_timeout: float = Field(default=10, gt=0, le=300)
    db_echo: bool = False

    redis_url: str | None = None

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    forwarded_allow_ips: str = "127.0.0.1"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    secret_key: SecretStr | None = None
    access_token_minutes: int = Field(default=30, ge=15, le=60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    jwt_issuer: str = "linguo"

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    trusted_hosts: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])

    rate_limit_enabled: bool = True
    rate_limit_ip: str = "300/minute"
    rate_limit_user: str = "600/minute"
    rate_limit_auth: str = "10/minute"

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True

    scheduler_enabled: bool = True
    preload_analysers: bool = True

    srs_desired_retention: float = Field(default=0.9, ge=0.70, le=0.97)
    srs_new_cards_per_day: int = Field(default=20, ge=0, le=1000)
    srs_reviews_per_day: int = Field(default=200, ge=0, le=10000)
    srs_fuzzing: bool = True
    srs_optimizer_min_reviews: int = Field(default=400, ge=50)
    srs_optimizer_refit_reviews: int = Field(default=200, ge=1)
    vocabulary_cache_seconds: int = Field(default=3600, ge=1)

    lesson_hearts: int = Field(default=5, ge=1, le=100)
    lesson_max_exercises: int = Field(default=20, ge=1, le=500)
    course_cache_seconds: int = Field(default=900, ge=1)
    media_dir: Path | None = None

    # Language models (providers/llm): primary, then secondary, then the offline tutor.
    llm_primary: Literal["openai", "anthropic"] | None = None
    llm_secondary: Literal["openai", "anthropic"] | None = None
    llm_openai_api_key: SecretStr | None = None
    llm_openai_base_url: str | None = None
    llm_openai_model: str = "gpt-4o-mini"
    llm_anthropic_api_key: SecretStr | None = None
    llm_anthropic_base_url: str | None = None
    llm_anthropic_model: str = "claude-haiku-4-5"
    llm_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    llm_backoff_base_seconds: float = Field(default=0.5, ge=0, le=60)
    llm_backoff_max_seconds: float = Field(default=10.0, ge=0, le=600)

    @field_validator(
        "llm_primary",
        "llm_secondary",
        "llm_openai_api_key",
        "llm_openai_base_url",
        "llm_anthropic_api_key",
        "llm_anthropic_base_url",
        mode="before",
    )
    @classmethod
    def _blank_llm_setting_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("cors_origins", "trusted_hosts", mode="before")
    @classmethod
    def _parse_csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgresql+asyncpg://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// URL")
        return value

    @field_validator("rate_limit_ip", "rate_limit_user", "rate_limit_auth")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit like '10/minute': {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _require_production_secrets(self) -> Settings:
        if self.env == "production":
            if self.secret_key is None:
                raise ValueError("LINGUO_SECRET_KEY is required when LINGUO_ENV=production")
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("LINGUO_SECRET_KEY must be at least 32 characters")
        return self

    @property
    def uses_redis(self) -> bool:
        """True when Redis backs the cache, rate limits and job queue."""
        return self.redis_url is not None

    def signing_key(self) -> str:
        """The JWT signing key; in development one is generated once and kept in the data dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def describe_validation_error(exc: Exception) -> str:
    """Turn a settings ValidationError into one line naming the bad variable."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return str(exc)
    parts = []
    for error in exc.errors():
        field = ".".join(str(item) for item in error["loc"])
        name = f"LINGUO_{field.upper()}" if field else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}: {message}")
    return "invalid configuration: " + "; ".join(parts)
