"""Combine labellers' part files into tests/eval/real/pages.jsonl: one line per url, groups joined, labels checked.

Run `python tests/eval/real/combine.py PART.jsonl ...` (the first part to list a url wins; its labels are kept).
A page listed by two parts joins their dup_groups (and their name_groups) into one; a pair that would be
both the same resource and a different one of the same name loses its name_group. Group names get the
part's file stem as a prefix, so two labellers' "g1" never meet by accident.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from aggregator.classify.pageset import PageRecord, check_record  # noqa: E402
from aggregator.config.taxonomy import load_taxonomy  # noqa: E402

OUT = Path(__file__).with_name("pages.jsonl")
KEYS = (
    "url",
    "site",
    "title",
    "text",
    "type",
    "audiences",
    "themes",
    "off_topic",
    "reason",
    "query",
    "dup_group",
    "name_group",
)


class Groups:
    """Union-find over group names: two names meet when one page carries both."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, name: str) -> str:
        self.parent.setdefault(name, name)
        while self.parent[name] != name:
            name = self.parent[name] = self.parent[self.parent[name]]
        return name

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def combine(parts: list[Path]) -> tuple[list[dict], Counter]:
    """The combined records and counts of what was dropped or disagreed."""
    taxonomy = load_taxonomy(ROOT / "taxonomy.yaml")
    kept: dict[str, dict] = {}
    groups = {"dup_group": Groups(), "name_group": Groups()}
    stats: Counter = Counter()
    for part in parts:
        prefix = part.stem.removeprefix("part-")
        for number, line in enumerate(part.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            data = json.loads(line)
            for key in groups:
                if data.get(key):
                    data[key] = f"{prefix}:{data[key]}"
            record = PageRecord.model_validate(data)
            problem = check_record(record, taxonomy)
            if problem:
                raise SystemExit(f"{part}:{number}: {record.url}: {problem}")
            stats["read"] += 1
            first = kept.get(record.url)
            if first is None:
                kept[record.url] = data
                continue
            stats["repeated url"] += 1
            stats["repeat agrees on type"] += first["type"] == data["type"]
            stats["repeat agrees on off_topic"] += (not first["themes"]) == (not data["themes"])
            stats["repeat agrees on themes"] += set(first["themes"]) == set(data["themes"])
            for key, union in groups.items():
                if data.get(key):
                    if first.get(key):
                        union.join(first[key], data[key])
                    else:
                        first[key] = data[key]
    records = list(kept.values())
    for record in records:
        for key, union in groups.items():
            if record.get(key):
                record[key] = union.find(record[key])
    _drop_conflicting_names(records, stats)
    return records, stats


def _drop_conflicting_names(records: list[dict], stats: Counter) -> None:
    by_name: dict[str, list[dict]] = {}
    for record in records:
        if record.get("name_group"):
            by_name.setdefault(record["name_group"], []).append(record)
    for members in by_name.values():
        dups = Counter(r.get("dup_group") for r in members if r.get("dup_group"))
        if any(n > 1 for n in dups.values()):
            for r in members:
                r.pop("name_group")
                stats["name_group dropped: its pages also share a dup_group"] += 1


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__)
    records, stats = combine([Path(p) for p in argv])
    for key in ("dup_group", "name_group"):
        sizes = Counter(r[key] for r in records if r.get(key))
        stats[f"{key}s of 2+ pages"] = sum(n > 1 for n in sizes.values())
        for r in records:  # a group of one page scores nothing
            if r.get(key) and sizes[r[key]] < 2:
                r.pop(key)
    with OUT.open("w", encoding="utf-8") as out:
        for record in records:
            record["off_topic"] = not record["themes"]
            out.write(json.dumps({k: record[k] for k in KEYS if record.get(k) is not None}, ensure_ascii=False) + "\n")
    stats["pages"] = len(records)
    stats["sites"] = len({r["site"] for r in records})
    stats["off-topic"] = sum(not r["themes"] for r in records)
    for name, value in sorted(stats.items()):
        print(f"{name}: {value}")


if __name__ == "__main__":
    main(sys.argv[1:])
