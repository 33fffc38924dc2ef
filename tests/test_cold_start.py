"""Cold start: a command imports what it uses, checked on module names in a fresh interpreter (never on time)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEARNED = {"sklearn", "numpy", "scipy"}
HEAVY = LEARNED | {"trafilatura", "lxml.html", "feedparser", "httpx", "jinja2", "sqlalchemy", "flask"}


def imported_by(*args: str) -> set[str]:
    """The modules a fresh `python -X importtime ARGS` imported (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    names = set(re.findall(r"^import time:.*\|\s+(\S+)$", done.stderr, flags=re.MULTILINE))
    assert "aggregator" in names  # the output was read
    return names


def test_help_imports_no_library_a_command_needs():
    assert imported_by("-m", "aggregator", "--help") & HEAVY == set()


def test_importing_the_cli_imports_no_library_a_command_needs():
    assert imported_by("-c", "import aggregator.cli") & HEAVY == set()


def test_a_sub_command_help_imports_none_either():
    assert imported_by("-m", "aggregator", "issue", "--help") & HEAVY == set()


def test_sources_check_reads_the_file_without_the_pipeline():
    imported = imported_by("-m", "aggregator", "sources", "check", "--file", str(ROOT / "sources.yaml"))
    assert "aggregator.config.sources" in imported
    assert imported & (HEAVY - {"lxml.html"}) == set()  # bs4 may bring lxml.html, to check CSS selectors


@pytest.mark.parametrize("module", ["aggregator.jobs.monthly", "aggregator.classify.label", "aggregator.classify"])
def test_the_learned_model_is_imported_only_when_a_model_is_used(module):
    assert imported_by("-c", f"import {module}") & LEARNED <= {"numpy"}  # dedupe's blocking uses numpy


def test_training_a_model_does_import_scikit_learn():
    script = (
        "from pathlib import Path\n"
        "from aggregator.classify.learned import model_from_bytes, model_to_bytes, train_model\n"
        "from aggregator.classify.trained import shipped_examples, shipped_labelled_set, shipped_page_set\n"
        "from aggregator.config.taxonomy import load_taxonomy\n"
        "taxonomy = load_taxonomy(Path('taxonomy.yaml'))\n"
        "examples = shipped_examples(shipped_labelled_set(), shipped_page_set(), taxonomy)\n"
        "model = model_from_bytes(model_to_bytes(train_model(examples, taxonomy)))\n"
        "assert model.targets\n"
    )
    assert {"sklearn", "scipy", "numpy"} <= imported_by("-c", script)
