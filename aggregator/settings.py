"""Runtime settings, read from AGGREGATOR_* environment variables (and an optional .env file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_USER_AGENT = (
    "KindnessDigestAggregator/0.1 (+https://github.com/kindness-in-care/aggregator; "
    "feed aggregator for a monthly digest; contact: digest-editors@kindness-in-care.org)"
)


class FetchLimits(BaseModel):
    """How politely and how far the fetcher may go (AGGREGATOR_FETCH__<NAME>)."""

    model_config = ConfigDict(extra="forbid")

    connect_timeout: float = Field(10.0, gt=0, description="seconds to open a connection")
    read_timeout: float = Field(20.0, gt=0, description="seconds to wait for the next bytes")
    total_deadline: float = Field(60.0, gt=0, description="seconds for a whole request, body included")
    max_body_bytes: int = Field(20 * 1024 * 1024, gt=0, description="cap on a body after decompression")
    max_redirects: int = Field(5, ge=0, le=20)
    per_host_delay: float = Field(1.0, ge=0, description="seconds between two requests to one host")
    max_workers: int = Field(16, ge=1, le=256, description="requests in flight across hosts")
    robots_txt: bool = Field(True, description="honour robots.txt")


class Settings(BaseSettings):
    """Everything the aggregator needs to know about its environment; defaults run embedded."""

    model_config = SettingsConfigDict(
        env_prefix="AGGREGATOR_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    data_dir: Path = Field(Path("var"), description="folder for the SQLite file, outbox and feeds")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<data_dir>/aggregator.db")
    sources_file: Path = Field(Path("sources.yaml"))
    taxonomy_file: Path = Field(Path("taxonomy.yaml"), description="audiences and themes, editable by editors")
    labelled_set: Path = Field(Path("tests/eval/classifier/resources.jsonl"),
                               description="labelled resources the classifier model is trained on, with corrections")
    user_agent: str = DEFAULT_USER_AGENT
    allow_private_addresses: bool = Field(
        False, description="allow fetching loopback/private addresses (tests and the local demo only)"
    )
    fetch: FetchLimits = Field(default_factory=FetchLimits)
    summary_max_chars: int = Field(1200, ge=100)

    @field_validator("user_agent")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("the user agent must be a single line")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'aggregator.db').as_posix()}"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def model_path(self) -> Path:
        return self.data_dir / "classifier.model"

    @property
    def feeds_dir(self) -> Path:
        return self.data_dir / "feeds"
