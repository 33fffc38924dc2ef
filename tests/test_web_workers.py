"""`aggregator serve` with two real gunicorn workers behind one port on 127.0.0.1: rate limits are shared by
the workers, keyed by client address and account together, and the access log carries no link token."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from aggregator.db.engine import create_db_engine
from aggregator.people.users import Passwords, add_user
from tests.test_send_helpers import SECRET, TAXONOMY_FILE, free_port

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
EDITOR, PASSWORD = "editor@example.org", "a long enough passphrase"

pytestmark = pytest.mark.slow


class Server:
    """`aggregator serve --workers 2` in a subprocess; its access log lines collected as they come."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "AGGREGATOR_DATABASE_URL": database_url,
            "AGGREGATOR_SECRET_KEY": SECRET,
            "AGGREGATOR_DATA_DIR": str(tmp_path / "var"),
            "AGGREGATOR_TAXONOMY_FILE": str(TAXONOMY_FILE),
            "AGGREGATOR_SOURCES_FILE": str(ROOT / "sources.yaml"),
            "AGGREGATOR_BASE_URL": self.base,
            "AGGREGATOR_WEB__SUBSCRIBE_RATE_LIMIT": "4 per hour",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aggregator",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "2",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_ready(self) -> None:
        for _ in range(300):
            if self.process.poll() is not None:
                raise AssertionError("".join(self.lines))
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("the server did not start: " + "".join(self.lines))

    def pid_of_last(self, method_and_path: str) -> str:
        for _ in range(50):  # the access log line is written right after the response
            for line in reversed(self.lines):
                if f'"{method_and_path} ' in line:
                    return line.rsplit("pid=", 1)[1].strip()
            time.sleep(0.02)
        raise AssertionError(f"no access log line for {method_and_path}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def server(database_url, tmp_path):
    engine = create_db_engine(database_url)
    with engine.begin() as conn:
        add_user(conn, EDITOR, PASSWORD, role="editor", name="Ed", now=datetime.now(UTC), passwords=Passwords())
    engine.dispose()
    running = Server(database_url, tmp_path)
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def _post(server: Server, client: httpx.Client, page: str, path: str, data: dict) -> httpx.Response:
    token = CSRF.search(client.get(f"{server.base}{page}").text).group(1)
    return client.post(
        f"{server.base}{path}",
        data={**data, "csrf_token": token},
        headers={"Origin": server.base, "Connection": "close"},
    )


def _client(address: str = "127.0.0.1") -> httpx.Client:
    # a new connection for every request, so that either worker may take it
    return httpx.Client(
        transport=httpx.HTTPTransport(local_address=address),
        timeout=30,
        limits=httpx.Limits(max_keepalive_connections=0),
        headers={"Connection": "close"},
    )


def test_failed_sign_ins_are_counted_across_both_workers_and_never_lock_the_editor_out(server):
    statuses, workers = [], Counter()
    with _client() as attacker:
        while len(statuses) < 60 and (len(statuses) < 12 or len(workers) < 2):
            reply = _post(
                server,
                attacker,
                "/editor/login",
                "/editor/login",
                {"email": EDITOR, "password": "not the password at all"},
            )
            statuses.append(reply.status_code)
            workers[server.pid_of_last("POST /editor/login")] += 1
    assert len(workers) == 2, f"one worker took every request: {workers}"
    assert statuses.count(200) == 5 and set(statuses[5:]) == {429}, statuses
    with _client("127.0.0.2") as editor:  # the editor, from their own address, signs in at once
        reply = _post(server, editor, "/editor/login", "/editor/login", {"email": EDITOR, "password": PASSWORD})
    assert reply.status_code == 303, reply.text


def test_subscribes_are_counted_across_both_workers(server):
    statuses, workers = [], Counter()
    with _client() as visitor:
        while len(statuses) < 60 and (len(statuses) < 10 or len(workers) < 2):
            reply = _post(server, visitor, "/subscribe", "/subscribe", {"email": f"p{len(statuses)}@example.org"})
            statuses.append(reply.status_code)
            workers[server.pid_of_last("POST /subscribe")] += 1
    assert len(workers) == 2, f"one worker took every request: {workers}"
    assert sum(s != 429 for s in statuses) == 4 and set(statuses[4:]) == {429}, statuses


def test_the_access_log_carries_no_subscription_token(server):
    secret = "eyJzdWIiOjF9.c2VjcmV0LXRva2Vu"
    with _client() as visitor:
        for path in (f"/unsubscribe/{secret}", f"/preferences/{secret}", f"/subscribe/confirm/{secret}?x=1"):
            visitor.get(f"{server.base}{path}", headers={"Referer": f"{server.base}/unsubscribe/{secret}"})
            server.pid_of_last(f"GET {path.replace(secret, '[redacted]')}")
    log = "".join(server.lines)
    assert secret not in log and log.count("[redacted]") >= 6


def test_clients_that_send_their_headers_slowly_do_not_hold_the_workers(server):
    import socket

    stalled = []
    for _ in range(4):  # two for each worker: a sync worker would wait on each until its 60 s timeout
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        stalled.append(sock)
    try:
        with _client() as visitor:
            replies = [visitor.get(f"{server.base}/healthz", timeout=10).status_code for _ in range(4)]
    finally:
        for sock in stalled:
            sock.close()
    assert replies == [200] * 4
