"""Scale-mode fixtures: PostgreSQL and RabbitMQ checks (skip with the reason when absent), worker processes.

Each test gets its own PostgreSQL schema (the `database_url` fixture) and its own queue prefix, so
tests never share jobs; its workers are `aggregator worker` subprocesses, each in its own process
group so that a test can SIGKILL one whole worker (supervisor and job process) like a lost machine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
READY = "is ready for action"


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """The RabbitMQ URL; the scale tests need it and PostgreSQL (skipped, with the reason, otherwise)."""
    database = os.environ.get("AGGREGATOR_TEST_DATABASE_URL")
    amqp = os.environ.get("AGGREGATOR_TEST_AMQP_URL")
    if not database or not database.startswith("postgresql"):
        pytest.skip("scale tests need PostgreSQL: set AGGREGATOR_TEST_DATABASE_URL=postgresql+psycopg://...")
    if not _answers(database.replace("postgresql+psycopg", "postgresql"), 5432):
        pytest.skip(f"scale tests need PostgreSQL, which does not answer at {urlsplit(database).netloc}")
    if not amqp:
        pytest.skip("scale tests need RabbitMQ: set AGGREGATOR_TEST_AMQP_URL=amqp://guest:guest@127.0.0.1:5672//")
    if not _answers(amqp, 5672):
        pytest.skip(f"scale tests need RabbitMQ, which does not answer at {urlsplit(amqp).hostname}")
    return amqp


@pytest.fixture
def queue_settings(amqp_url: str):
    """QueueSettings with a prefix of its own; its queues are deleted afterwards."""
    from aggregator.jobs.queue.config import QueueSettings

    settings = QueueSettings(broker_url=amqp_url, queue_prefix=f"t{uuid.uuid4().hex[:10]}", _env_file=None)
    yield settings
    _delete_queues(settings)


def _delete_queues(settings) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
    try:
        channel = connection.channel()
        for queue in (settings.fetch_queue, settings.send_queue):
            for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                channel.queue_delete(name)
    finally:
        connection.close()


class Workers:
    """`aggregator worker` subprocesses with a shared environment; logs in tmp_path."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp = tmp_path
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self, count: int, env: dict[str, str], *, threads: int = 2) -> None:
        for n in range(count):
            log = self._tmp / f"worker{n}.log"
            self.logs.append(log)
            with open(log, "wb") as handle:
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "aggregator", "worker", "--processes", "1", "--threads", str(threads)],
                        cwd=ROOT,
                        env={**os.environ, **env},
                        stdout=handle,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + 60
        while not all(READY in log.read_text(errors="replace") for log in self.logs):
            for process, log in zip(self.processes, self.logs):
                assert process.poll() is None, f"worker exited: {log.read_text(errors='replace')[-3000:]}"
            assert time.monotonic() < deadline, "workers did not come up in 60 s"
            time.sleep(0.2)

    def kill(self, index: int) -> None:
        """SIGKILL the whole worker (its supervisor and its job process): no shutdown, no acks."""
        os.killpg(self.processes[index].pid, signal.SIGKILL)

    def output(self) -> str:
        return "\n".join(log.read_text(errors="replace")[-4000:] for log in self.logs)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def workers(tmp_path: Path):
    pool = Workers(tmp_path)
    yield pool
    pool.stop()


def wait_for(condition, *, timeout: float, what: str, every: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)
