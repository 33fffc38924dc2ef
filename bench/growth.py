"""Growth curves: the monthly pass over 10/100/1,000 local sources and over 1k/10k/100k stored resources.

Run: .venv/bin/python bench/growth.py [--sources 10 100 1000] [--stored 1000 10000 100000] [--repeat 3]
                                      [--plot docs/growth.png]   (matplotlib: pip install -e '.[bench]')

A loopback server (bench/conditional_server.py, its own process) serves each source's generated feed (20
entries, bench/synthetic_feeds.py) with an ETag and answers 304 when it is sent back, so a second pass is
"nothing new" exactly as at partners that support conditional requests.

Each row is one fresh SQLite database: for the sources rows it starts empty; for the stored rows it is
first filled with that many resources (titles as in bench/dedupe_bench.py, 50 archive sources, each with a
summary of other titles' words), de-duplicated once and marked labelled, as a previous month would have
left them; then 100 sources are passed over. A pass is run_monthly's stages in its order, each timed:
fetch+store (run_fetch: fetch, parse, normalise, store), dedupe, classify, feeds, and the rest (draft,
archive). The second pass (all 304) is the median of --repeat passes. The classifier's model is trained
once before the rows, as a deployment trains it once (its time printed apart). Prints the table and the
load average (the machine may be shared: figures compare only within one run); --plot draws the table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conditional_server import run_server
from dedupe_bench import make_base
from pipeline_bench import loopback, make_sources
from sqlalchemy import update

from aggregator.classify.label import classify_resources
from aggregator.config.sources import SourceConfig
from aggregator.db.engine import create_db_engine, upgrade_database
from aggregator.db.robots_store import DatabaseRobotsStore
from aggregator.db.schema import resources
from aggregator.db.store import store_resources, sync_sources
from aggregator.dedupe.merge import dedupe_resources
from aggregator.digest.issue import prepare_draft
from aggregator.ingest.fetch import Fetcher, GuardedBackend, guarded_transport
from aggregator.ingest.normalize import normalize_entry
from aggregator.ingest.run import run_fetch
from aggregator.jobs.monthly import build_classifier, source_hints
from aggregator.model import RawEntry
from aggregator.publish.archive import build_archive
from aggregator.publish.feeds.build import build_feeds
from aggregator.settings import FetchLimits, Settings

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("fetch+store", "dedupe", "classify", "feeds", "rest")
TARGETS = {"second pass, 100 sources, 100k stored": 1.5, "first pass, 1,000 sources": 35.0}


def bench_settings(folder: Path, models: Path | None = None) -> Settings:
    return Settings(
        _env_file=None,
        allow_private_addresses=True,
        data_dir=folder,
        model_cache_dir=models,
        taxonomy_file=ROOT / "taxonomy.yaml",
        fetch=FetchLimits(per_host_delay=0.0, max_workers=16, robots_txt=True),
    )


def seed_stored(engine, count: int, now: datetime) -> float:
    """Store `count` resources from 50 archive sources, de-duplicate them once and mark them labelled;
    return the seconds the first (full) de-duplication took."""
    rng = random.Random(7)
    archive = [
        SourceConfig(id=f"a{n}", name=f"Archive {n}", url=f"https://a{n}.example/feed", adapter="feed")
        for n in range(50)
    ]
    by_source: dict[str, list] = {c.id: [] for c in archive}
    base = make_base(rng, count)
    for record in base:
        config = archive[int(record.id) % 50]
        # a summary of a few hundred characters, as feeds give: other titles' words stand in for prose
        summary = ". ".join(r.title for r in rng.sample(base, 4)) if count >= 4 else record.title
        entry = RawEntry(
            url=f"https://{config.id}.example/r/{record.id}",
            title=record.title,
            published=datetime.combine(record.published, datetime.min.time(), UTC) if record.published else None,
            authors=record.authors,
            doi=record.doi,
            summary_html=f"<p>{summary}.</p>",
        )
        by_source[config.id].append(normalize_entry(entry, config))
    with engine.begin() as conn:
        sync_sources(conn, archive)
        for config in archive:
            store_resources(conn, config.id, by_source[config.id], now)
    started = time.perf_counter()
    dedupe_resources(engine, now)
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(update(resources).values(classified_at=now))
    return seconds


def monthly_pass(settings: Settings, configs: list[SourceConfig], engine, port: int, now: datetime) -> dict[str, float]:
    """Run the monthly pass's stages in run_monthly's order (sending aside); return seconds per stage."""
    transport = guarded_transport(settings, backend=GuardedBackend(allow_private=True, resolve=loopback))
    times = {}
    started = time.perf_counter()
    with Fetcher(settings, transport=transport, robots_store=DatabaseRobotsStore(engine)) as fetcher:
        outcomes = run_fetch(settings, configs, engine, fetcher, clock=lambda: now)
    failed = [o for o in outcomes if o.outcome not in ("new-data", "not-modified")]
    assert not failed, failed[:3]
    times["fetch+store"] = time.perf_counter() - started
    started = time.perf_counter()
    dedupe_resources(engine, now)
    times["dedupe"] = time.perf_counter() - started
    started = time.perf_counter()
    classify_resources(engine, build_classifier(settings), source_hints(configs), now)
    times["classify"] = time.perf_counter() - started
    started = time.perf_counter()
    with engine.begin() as conn:
        prepare_draft(conn, now.strftime("%Y-%m"), now)
    rest = time.perf_counter() - started
    started = time.perf_counter()
    build_feeds(engine, settings, now)
    times["feeds"] = time.perf_counter() - started
    started = time.perf_counter()
    build_archive(engine, settings, now)
    times["rest"] = rest + time.perf_counter() - started
    return times


def measure_row(folder: Path, models: Path, sources: int, stored: int, port: int, repeat: int) -> dict[str, object]:
    settings = bench_settings(folder, models)
    engine = create_db_engine(settings.resolved_database_url)
    upgrade_database(engine)
    configs = make_sources(sources, port)
    with engine.begin() as conn:
        sync_sources(conn, configs)
    now = datetime(2026, 11, 1, 9, tzinfo=UTC)
    seed_dedupe = seed_stored(engine, stored, now - timedelta(days=30)) if stored else 0.0
    first = monthly_pass(settings, configs, engine, port, now)
    seconds = []
    for n in range(repeat):
        again = monthly_pass(settings, configs, engine, port, now + timedelta(days=31 * (n + 1)))
        seconds.append(sum(again.values()))
    engine.dispose()
    return {"sources": sources, "stored": stored, "seed_dedupe": seed_dedupe, "first": first, "second": seconds}


def format_row(row: dict[str, object]) -> str:
    first = row["first"]
    assert isinstance(first, dict)
    stages = " / ".join(f"{first[s]:.2f}" for s in STAGES)
    total = sum(first.values())
    per_source = 1000 * first["fetch+store"] / row["sources"]  # type: ignore[operator]
    return (
        f"| {row['sources']:>5} | {row['stored']:>7} | {total:7.2f} s | {stages} | "
        f"{100 * first['classify'] / total:3.0f}% | {per_source:5.1f} ms | "
        f"{statistics.median(row['second']):6.2f} s |"  # type: ignore[arg-type]
    )


def draw(rows: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, label in ((axes[0], "sources", "sources (stored 0)"), (axes[1], "stored", "stored (100 sources)")):
        chosen = [r for r in rows if (r["stored"] == 0) == (key == "sources")]
        if not chosen:
            continue
        xs = [r[key] for r in chosen]
        bottom = [0.0] * len(chosen)
        for stage in STAGES:
            heights = [r["first"][stage] for r in chosen]  # type: ignore[index]
            ax.bar([str(x) for x in xs], heights, bottom=bottom, label=f"first pass: {stage}")
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.plot(
            [str(x) for x in xs], [statistics.median(r["second"]) for r in chosen], "ko-", label="second pass (304)"
        )  # type: ignore[arg-type]
        ax.set_xlabel(label)
        ax.set_ylabel("seconds")
    axes[0].legend(fontsize=8)
    figure.suptitle("Monthly pass on one 2-core machine (loopback sources, SQLite)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def missed_targets(rows: list[dict]) -> list[str]:
    """The issue's targets this run missed: second pass at 100 sources and 100k stored under 1.5 s; first pass
    at 1,000 sources under 35 s, labelling under a third of it."""
    missed = []
    for row in rows:
        first, second = row["first"], statistics.median(row["second"])
        if (row["sources"], row["stored"]) == (100, 100_000) and second > 1.5:
            missed.append(f"second pass at 100 sources, 100k stored: {second:.2f} s > 1.5 s")
        if (row["sources"], row["stored"]) == (1000, 0):
            total = sum(first.values())
            if total > TARGETS["first pass, 1,000 sources"]:
                missed.append(f"first pass at 1,000 sources: {total:.1f} s > 35 s")
            if 3 * first["classify"] > total:
                missed.append(f"labelling at 1,000 sources: {first['classify']:.1f} s of {total:.1f} s, over a third")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, nargs="*", default=[10, 100, 1000])
    parser.add_argument("--stored", type=int, nargs="*", default=[1000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="second passes per row (median), at least 1")
    parser.add_argument("--plot", type=Path, help="write the figure here (PNG)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    plan = [(s, 0) for s in args.sources] + [(100, n) for n in args.stored]
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    server = context.Process(target=run_server, args=(max(s for s, _ in plan), 20, send), daemon=True)
    server.start()
    rows = []
    models = tempfile.TemporaryDirectory()
    try:
        port = receive.recv()
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        # The model is trained once, as a deployment trains it once (again only when the shipped sets or the
        # editors' corrections change): each pass's classify stage then reads it from the cache and labels.
        started = time.perf_counter()
        build_classifier(bench_settings(Path(models.name), Path(models.name)))
        print(f"classifier model trained once, before the passes: {time.perf_counter() - started:.1f} s")
        print(
            "| sources | stored | first pass | fetch+store / dedupe / classify / feeds / rest | labelling share "
            "| fetch+store per source | second pass (304, median) |"
        )
        print("|---|---|---|---|---|---|---|")
        for sources, stored in plan:
            with tempfile.TemporaryDirectory() as tmp:
                row = measure_row(Path(tmp), Path(models.name), sources, stored, port, args.repeat)
            rows.append(row)
            print(format_row(row), f"(archive's first dedupe {row['seed_dedupe']:.1f} s)" if stored else "", flush=True)
    finally:
        server.terminate()
        server.join()
        models.cleanup()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.plot:
        draw(rows, args.plot)
        print(f"wrote {args.plot}")
    missed = missed_targets(rows)
    for line in missed:
        print(f"MISSED: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
