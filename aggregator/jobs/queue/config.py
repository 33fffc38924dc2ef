"""Where the queue is (AGGREGATOR_BROKER_URL, AGGREGATOR_QUEUE_PREFIX, AGGREGATOR_SEND_BATCH): scale mode only."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class QueueSettings(BaseSettings):
    """The broker and queue names; kept apart from Settings because the embedded default needs none of it."""

    model_config = SettingsConfigDict(env_prefix="AGGREGATOR_", env_file=".env", extra="ignore")

    broker_url: str = Field("amqp://guest:guest@127.0.0.1:5672/%2F", description="RabbitMQ (AMQP) URL")
    queue_prefix: str = Field(
        "aggregator",
        description="queue names are <prefix>.fetch and <prefix>.send; one prefix per deployment sharing a broker",
    )
    send_batch: int = Field(
        500,
        ge=1,
        description="messages per send job; keep a job well under the broker's "
        "30-minute consumer timeout at the per-job rate",
    )

    @field_validator("broker_url")
    @classmethod
    def _default_vhost(cls, value: str) -> str:
        # Celery/kombu spell the default vhost "//"; pika reads that as the vhost "" (which does not exist)
        scheme, _, rest = value.partition("://")
        if rest.endswith("//") and "/" not in rest[:-2]:
            return f"{scheme}://{rest[:-2]}/%2F"
        return value

    @field_validator("queue_prefix")
    @classmethod
    def _queue_name(cls, value: str) -> str:
        if not value.replace(".", "").replace("-", "").replace("_", "").isalnum():
            raise ValueError("letters, digits, '.', '-' and '_' only")
        return value

    @property
    def fetch_queue(self) -> str:
        return f"{self.queue_prefix}.fetch"

    @property
    def send_queue(self) -> str:
        return f"{self.queue_prefix}.send"
