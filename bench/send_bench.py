"""Sending benchmark: pre-built bytes vs end-to-end personalised sending through send_issue, and peak memory.

Both runs go to the same minimal SMTP sink on 127.0.0.1 over the same number of reused connections, in
interleaved rounds (best of 3 each by default) so that other load on the machine falls on both sides.
Targets (issue 5): personalised >= 60% of the pre-built rate; peak memory < 300 MB at 100k subscribers
and not growing with the list. Exits 1 when a target is missed.

    .venv/bin/python bench/send_bench.py                      # 20k subscribers
    .venv/bin/python bench/send_bench.py --subscribers 100000
    .venv/bin/python bench/send_bench.py --memory-check       # 20k and 100k in fresh processes, compared
"""

from __future__ import annotations

import argparse
import json
import resource
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, insert, update  # noqa: E402

from aggregator.db.engine import create_db_engine, upgrade_database  # noqa: E402
from aggregator.db.schema import deliveries, issues, subscribers  # noqa: E402
from aggregator.digest.send import SendOptions, send_issue  # noqa: E402
from aggregator.digest.transport import SMTPTransport  # noqa: E402
from aggregator.settings import Settings  # noqa: E402

RATIO_TARGET, MEMORY_TARGET_MB = 0.60, 300
AUDIENCES = ("frontline-staff", "leaders", "patient-safety", "educators")
THEMES = ("kindness", "compassionate-leadership", "staff-wellbeing", "teamwork")


class FastSink:
    """A minimal SMTP responder that counts messages and keeps nothing. It runs in its own process, so it
    neither competes with the sender for the GIL nor is slowed by it (a thread per connection there)."""

    def __init__(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._count = context.Value("q", 0)
        self.server = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.server.getsockname()[1]
        self._process = context.Process(target=self._run, daemon=True)
        self._process.start()
        self.server.close()  # the child serves it

    @property
    def count(self) -> int:
        return self._count.value

    @count.setter
    def count(self, value: int) -> None:
        self._count.value = value

    def _run(self) -> None:
        self._lock = threading.Lock()
        self._accept()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(b"220 sink ESMTP\r\n")
        buffer, in_data = b"", False
        with conn:
            while True:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    return
                buffer += chunk
                while True:
                    if in_data:
                        end = buffer.find(b"\r\n.\r\n")
                        if end < 0:
                            buffer = buffer[-4:] if len(buffer) > 4 else buffer  # only the tail can hold the end
                            break
                        with self._count.get_lock():
                            self._count.value += 1
                        buffer, in_data = buffer[end + 5 :], False
                        conn.sendall(b"250 ok\r\n")
                        continue
                    line_end = buffer.find(b"\r\n")
                    if line_end < 0:
                        break
                    verb, buffer = buffer[:4].upper(), buffer[line_end + 2 :]
                    if verb == b"EHLO":
                        conn.sendall(b"250-sink\r\n250-8BITMIME\r\n250 SIZE 100000000\r\n")
                    elif verb == b"DATA":
                        conn.sendall(b"354 go\r\n")
                        in_data = True
                    elif verb == b"QUIT":
                        conn.sendall(b"221 bye\r\n")
                        return
                    else:
                        conn.sendall(b"250 ok\r\n")


def seed(url: str, count: int) -> int:
    """An approved issue (the test suite's seed: themed resources, an event, a merged resource) and subscribers."""
    from tests.test_send_helpers import seed_issue

    engine = create_db_engine(url)
    upgrade_database(engine)
    issue_id = seed_issue(engine, titles=tuple(f"Extra resource {n} on kindness at work" for n in range(20)))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for start in range(0, count, 5000):
            conn.execute(
                insert(subscribers),
                [
                    {
                        "email": f"reader{n}@example.org",
                        "status": "active",
                        "created_at": now,
                        "origin": "form",
                        "audiences": [AUDIENCES[n % 4]] if n % 3 else [],
                        "themes": [THEMES[(n // 4) % 4]] if n % 5 else [],
                    }
                    for n in range(start, min(count, start + 5000))
                ],
            )
    engine.dispose()
    return issue_id


def settings_for(data_dir: Path, port: int, connections: int) -> Settings:
    return Settings(
        data_dir=data_dir,
        secret_key="bench-" + "x" * 40,
        smtp={
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "connections": connections,
            "rate_per_second": 1_000_000,
            "messages_per_connection": 500,
        },
    )


def send_prebuilt(port: int, data: bytes, count: int, connections: int, per_connection: int) -> float:
    """Seconds to send `count` copies of `data` over `connections` reused connections (reconnecting as the engine)."""

    def worker(share: int) -> None:
        client, used = None, 0
        for _ in range(share):
            if client is None or used >= per_connection:
                if client is not None:
                    client.quit()
                client, used = smtplib.SMTP("127.0.0.1", port), 0
            client.sendmail("digest@kindness-in-care.example", ["reader@example.org"], data)
            used += 1
        if client is not None:
            client.quit()

    threads = [
        threading.Thread(target=worker, args=(count // connections + (i < count % connections),))
        for i in range(connections)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def reset_issue(engine, issue_id: int) -> None:
    """Back to approved with no deliveries, so the next round sends to every subscriber again. A benchmark
    shortcut past the issue lifecycle (sent -> approved is no real transition)."""
    with engine.begin() as conn:
        conn.execute(delete(deliveries).where(deliveries.c.issue_id == issue_id))
        conn.execute(update(issues).where(issues.c.id == issue_id).values(status="approved", sent_at=None))


def send_personalised(engine, issue_id: int, settings: Settings, sink: FastSink, count: int) -> tuple[float, int]:
    """Seconds for send_issue to send the whole issue, and the distinct copies it rendered."""
    sink.count = 0
    started = time.perf_counter()
    report = send_issue(
        engine, issue_id, SMTPTransport(settings.smtp), settings, worker_id="bench", options=SendOptions(batch_size=200)
    )
    seconds = time.perf_counter() - started
    assert report.sent == count == sink.count and report.finished, (report, sink.count)
    return seconds, report.copies


def run(count: int, connections: int, only_send: bool, rounds: int) -> dict:
    """`rounds` rounds of baseline and personalised sending, interleaved (the order alternates), so that load
    from other work on the machine falls on both sides; each side's best round is its rate."""
    sink = FastSink()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        issue_id = seed(url, count)
        settings = settings_for(Path(tmp), sink.port, connections)
        engine = create_db_engine(url)
        result: dict = {"subscribers": count, "connections": connections, "rounds": rounds}
        sample: bytes | None = None
        base_count = min(count, 20_000)
        if not only_send:  # one message as the engine builds it, sent `base_count` times
            from aggregator.config.taxonomy import load_taxonomy
            from aggregator.digest.compose import Copies
            from aggregator.digest.deliveries import Target
            from aggregator.digest.issue import load_issue

            with engine.connect() as conn:
                content = load_issue(conn, issue_id, datetime.now(UTC))
            copies = Copies(content, settings, load_taxonomy(settings.taxonomy_file))
            sample, _ = copies.message(Target(0, 1, "reader1@example.org", (), (), 1), datetime.now(UTC))
            result.update(prebuilt_msgs=base_count, message_bytes=len(sample))
        prebuilt_rates: list[int] = []
        personalised_rates: list[int] = []
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        def baseline() -> None:
            seconds = send_prebuilt(sink.port, sample, base_count, connections, 500)
            prebuilt_rates.append(round(base_count / seconds))

        for round_ in range(rounds):
            baseline_first = round_ % 2 == 0
            if sample is not None and baseline_first:
                baseline()
            if round_:
                reset_issue(engine, issue_id)
            seconds, copies_rendered = send_personalised(engine, issue_id, settings, sink, count)
            personalised_rates.append(round(count / seconds))
            if sample is not None and not baseline_first:
                baseline()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result.update(
            personalised_rate=max(personalised_rates),
            personalised_rounds=personalised_rates,
            copies=copies_rendered,
            peak_rss_mb=round(rss_after),
            send_rss_growth_mb=round(rss_after - rss_before, 1),
        )
        if prebuilt_rates:
            result.update(
                prebuilt_rate=max(prebuilt_rates),
                prebuilt_rounds=prebuilt_rates,
                ratio=round(max(personalised_rates) / max(prebuilt_rates), 3),
            )
        engine.dispose()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--only-send", action="store_true", help="skip the pre-built baseline (memory runs)")
    parser.add_argument("--memory-check", action="store_true", help="20k and 100k in fresh processes, compared")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of each side; best one counts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.memory_check:
        runs = {}
        for n in (20_000, 100_000):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--subscribers",
                    str(n),
                    "--only-send",
                    "--json",
                    "--rounds",
                    "1",
                    "--connections",
                    str(args.connections),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            runs[n] = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{n:>7} subscribers: {runs[n]['personalised_rate']} msg/s, peak RSS {runs[n]['peak_rss_mb']} MB, "
                f"growth during the send {runs[n]['send_rss_growth_mb']} MB"
            )
        ok = (
            runs[100_000]["peak_rss_mb"] < MEMORY_TARGET_MB
            and runs[100_000]["send_rss_growth_mb"] <= runs[20_000]["send_rss_growth_mb"] + 20
        )
        print(f"memory target (< {MEMORY_TARGET_MB} MB at 100k, no growth with N): {'met' if ok else 'MISSED'}")
        return 0 if ok else 1
    result = run(args.subscribers, args.connections, args.only_send, args.rounds)
    if args.json:
        print(json.dumps(result))
        return 0
    ok = True
    if "ratio" in result:
        print(
            f"pre-built bytes:  {result['prebuilt_rate']:>6} msg/s ({result['prebuilt_msgs']} messages of "
            f"{result['message_bytes']} bytes, {args.connections} connections; rounds {result['prebuilt_rounds']})"
        )
        ok &= result["ratio"] >= RATIO_TARGET
    print(
        f"personalised:     {result['personalised_rate']:>6} msg/s ({args.subscribers} subscribers, "
        f"{result['copies']} distinct copies; rounds {result['personalised_rounds']})"
    )
    if "ratio" in result:
        print(f"ratio:            {result['ratio']:.2f} (target >= {RATIO_TARGET})")
    print(f"peak RSS:         {result['peak_rss_mb']} MB (growth during the send {result['send_rss_growth_mb']} MB)")
    if args.subscribers >= 100_000:
        ok &= result["peak_rss_mb"] < MEMORY_TARGET_MB
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
