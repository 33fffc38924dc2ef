"""The one list of adapters: each name in sources.yaml and the harvest function that serves it.

Adding an adapter: write its module (a function `(HarvestRequest, Fetcher) -> Harvest`, see `base.py`), add one
line here, and its tests. `config/sources.py` accepts the names listed here; `harvest.py` calls the function."""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aggregator.ingest.adapters.base import Fetcher, Harvest, HarvestRequest


class Adapter(Protocol):
    """What an adapter gives the harvest: the requests it needs through the fetcher, then pure parsing."""

    def __call__(self, request: HarvestRequest, fetcher: Fetcher, /) -> Harvest: ...


# name in sources.yaml -> "module:function"; imported on first use so that reading the configuration stays light
ADAPTERS: dict[str, str] = {
    "feed": "aggregator.ingest.adapters.harvesters:harvest_feed",
    "page": "aggregator.ingest.adapters.harvesters:harvest_page",
    "govuk": "aggregator.ingest.adapters.harvesters:harvest_govuk",
    "oai-pmh": "aggregator.ingest.adapters.harvesters:harvest_oai",
    "metadata": "aggregator.ingest.adapters.harvesters:harvest_metadata",
    "wordpress": "aggregator.ingest.adapters.harvesters:harvest_wordpress",
}
ADAPTER_NAMES: tuple[str, ...] = tuple(ADAPTERS)


@cache
def load_adapter(name: str) -> Adapter:
    """The harvest function registered under `name`; KeyError names the registered ones."""
    try:
        target = ADAPTERS[name]
    except KeyError:
        raise KeyError(f"no adapter {name!r}; registered: {', '.join(ADAPTER_NAMES)}") from None
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def load_all() -> None:
    """Import every registered adapter now (the fetch threads must not import modules for the first time)."""
    for name in ADAPTERS:
        load_adapter(name)
