"""The adapter registry is the one list: config accepts its names, harvest calls its functions."""

from __future__ import annotations

import typing

import pytest

from aggregator.config.sources import AdapterName, parse_sources
from aggregator.errors import ConfigError
from aggregator.ingest.adapters import registry


def test_config_accepts_exactly_the_registered_names():
    assert set(typing.get_args(AdapterName)) == set(registry.ADAPTERS)


@pytest.mark.parametrize("name", sorted(registry.ADAPTERS))
def test_every_registered_adapter_loads_a_callable(name):
    assert callable(registry.load_adapter(name))


def test_an_unknown_adapter_is_refused_by_name():
    with pytest.raises(KeyError, match="no adapter 'gopher'; registered: feed"):
        registry.load_adapter("gopher")


def test_sources_yaml_with_an_unregistered_adapter_is_refused():
    text = "version: 1\nsources:\n  - id: x\n    name: X\n    url: https://example.org/feed\n    adapter: gopher\n"
    with pytest.raises(ConfigError, match="adapter"):
        parse_sources(text, "sources.yaml")
