"""Runtime settings, read from AGGREGATOR_* environment variables (and an optional .env file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
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


class SMTPSettings(BaseModel):
    """Where digests go (AGGREGATOR_SMTP__<NAME>); no host means the embedded outbox folder of .eml files."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = None
    port: int = Field(587, ge=1, le=65535)
    security: str = Field("starttls", pattern="^(starttls|tls|none)$", description="starttls, tls (implicit) or none")
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = Field(30.0, gt=0)
    rate_per_second: float = Field(20.0, gt=0, description="messages per second across all connections")
    connections: int = Field(2, ge=1, le=32, description="SMTP connections used at once")
    messages_per_connection: int = Field(500, ge=1, description="reconnect after this many messages")
    retries: int = Field(3, ge=0, le=10, description="retries of a 4xx answer, with backoff")
    hard_bounce_after: int = Field(3, ge=1, description="5xx answers before an address is marked bounced")
    park_after: int = Field(
        3,
        ge=1,
        description="a message that went out this many times with no reply seen (the "
        "sender died sending it, or the connection was lost after its "
        "body) is parked, and the send goes on; Mailman parks after 3",
    )


class MailInSettings(BaseModel):
    """The mailbox `aggregator mail-in` reads (AGGREGATOR_MAILIN__<NAME>): bounces, complaints, unsubscribe mail."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = None  # none: mail-in has nothing to read
    port: int = Field(993, ge=1, le=65535)
    security: str = Field("tls", pattern="^(starttls|tls|none)$", description="tls (implicit), starttls or none")
    username: str | None = None
    password: SecretStr | None = None
    folder: str = "INBOX"
    timeout: float = Field(30.0, gt=0)
    interval_minutes: int = Field(15, ge=1, description="how often `aggregator schedule` reads the mailbox")


class DKIMSettings(BaseModel):
    """Optional DKIM signing (AGGREGATOR_DKIM__<NAME>); signs the List-Unsubscribe headers too."""

    model_config = ConfigDict(extra="forbid")

    domain: str | None = None
    selector: str | None = None
    private_key_file: Path | None = None


class MailSettings(BaseModel):
    """What the digest says about itself (AGGREGATOR_MAIL__<NAME>). Never fetched text in a header."""

    model_config = ConfigDict(extra="forbid")

    from_address: str = "Kindness in care digest <digest@kindness-in-care.example>"
    reply_to: str | None = "editors@kindness-in-care.example"
    list_id: str = "Kindness in care digest <digest.kindness-in-care.example>"
    unsubscribe_mailto: str = Field(
        "unsubscribe@kindness-in-care.example",
        description="base of each subscriber's signed List-Unsubscribe address (unsubscribe+u<id>-<version>-<mac>@...)",
    )
    bounce_address: str | None = Field(
        "bounces@kindness-in-care.example",
        description="base of each delivery's "
        "VERP return path (bounces+b<issue>-<subscriber>-<mac>@...); empty: the "
        "From address, and bounces name no subscriber",
    )
    subject_pattern: str = Field(
        "Kindness in care digest: {month_name} {year}", description="placeholders {month_name}, {month}, {year}"
    )
    wording_version: str = Field("2026-11", description="version of the consent wording shown on the subscribe form")
    tracking_pixel: bool = False

    @field_validator("from_address", "reply_to", "list_id", "unsubscribe_mailto", "bounce_address", "subject_pattern")
    @classmethod
    def _one_line_header(cls, value: str | None) -> str | None:
        if value is not None and ("\r" in value or "\n" in value):
            raise ValueError("mail settings go into headers: one line only")
        return value


class WebSettings(BaseModel):
    """The web app (AGGREGATOR_WEB__<NAME>)."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(2, ge=1, le=64)
    threads: int = Field(8, ge=1, le=256, description="threads per worker (gunicorn gthread workers)")
    second_editor_approval: bool = Field(False, description="an issue needs a second editor (or an admin) to approve")
    allow_insecure_links: bool = Field(
        False, description="let the web app send through SMTP while AGGREGATOR_BASE_URL is not https:// (a test server)"
    )
    trusted_proxies: int = Field(
        0,
        ge=0,
        le=5,
        description="reverse proxies in front whose X-Forwarded-* headers are trusted (1 behind nginx or Caddy)",
    )
    login_rate_limit: str = Field("5 per minute", description="failed sign-ins per client address and account")
    login_ip_rate_limit: str = Field("30 per minute", description="failed sign-ins per client address, any account")
    rate_limit_storage: str | None = Field(
        None,
        description="where rate-limit counters live, shared by every "
        "worker: the database by default, or a Flask-Limiter storage URI "
        "such as redis://localhost:6379/0 (needs the redis package)",
    )
    subscribe_rate_limit: str = "5 per hour"


class ScheduleSettings(BaseModel):
    """When the scheduler prepares the monthly draft (AGGREGATOR_SCHEDULE__<NAME>)."""

    model_config = ConfigDict(extra="forbid")

    draft_day: int = Field(20, ge=1, le=28, description="day of the month the draft is prepared")
    draft_hour: int = Field(8, ge=0, le=23)
    timezone: str = "Europe/London"
    editors_email: str | None = None


class Settings(BaseSettings):
    """Everything the aggregator needs to know about its environment; defaults run embedded."""

    model_config = SettingsConfigDict(
        env_prefix="AGGREGATOR_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    data_dir: Path = Field(Path("var"), description="folder for the SQLite file, outbox and feeds")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<data_dir>/aggregator.db")
    sources_file: Path = Field(Path("sources.yaml"))
    taxonomy_file: Path = Field(Path("taxonomy.yaml"), description="audiences and themes, editable by editors")
    labelled_set: Path | None = Field(
        None,
        description="labelled resources the classifier model is trained on, with the page set and corrections "
        "(default: the 162 shipped in the package)",
    )
    page_set: Path | None = Field(
        None,
        description="real labelled pages from many sites the model is trained on; `classify eval` "
        "cross-validates on them by site (default: the pages shipped in the package)",
    )
    model_cache_dir: Path | None = Field(
        None, description="where trained classifier models are cached (default <data_dir>/models)"
    )
    user_agent: str = DEFAULT_USER_AGENT
    allow_private_addresses: bool = Field(
        False, description="allow fetching loopback/private addresses (tests and the local demo only)"
    )
    fetch: FetchLimits = Field(default_factory=FetchLimits)
    summary_max_chars: int = Field(1200, ge=100)
    base_url: str = Field("http://127.0.0.1:8000", description="public address of the web app, for links in mail")
    secret_key: SecretStr | None = Field(
        None, description="signs sessions and links; default: made once and kept in <data_dir>/secret.key"
    )
    smtp: SMTPSettings = Field(default_factory=SMTPSettings)
    dkim: DKIMSettings = Field(default_factory=DKIMSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    mailin: MailInSettings = Field(default_factory=MailInSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)

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
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    def secret(self) -> str:
        """The signing secret: the setting, else one made once and kept beside the database."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret.key"
        if not path.exists():
            import os
            import secrets

            from aggregator.db.private import make_private_dir, open_private

            make_private_dir(self.data_dir)
            with os.fdopen(open_private(path), "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    @property
    def model_dir(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def labelled_set_path(self) -> Path:
        from aggregator.classify.trained import shipped_labelled_set

        return self.labelled_set or shipped_labelled_set()

    @property
    def page_set_path(self) -> Path:
        from aggregator.classify.trained import shipped_page_set

        return self.page_set or shipped_page_set()

    @property
    def feeds_dir(self) -> Path:
        return self.data_dir / "feeds"
