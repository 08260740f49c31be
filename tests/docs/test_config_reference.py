"""docs/configuration.md is generated from the base config, and what it says of each key is true."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from mmbridge.bridge import Bridge
from mmbridge.bridge.config import ConfigError, package_base_text
from mmbridge.bridge.config.reference import Block, Entry, core_entries
from mmbridge.bridge.config.yamltext import load_document, plain

from .config_reference import DOC, EXAMPLES, document_with, reference

STALE = "docs/configuration.md is stale: run python tests/docs/config_reference.py --write"


def _page() -> str:
    return DOC.read_text(encoding="utf-8")


def _paths(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every key path of a YAML mapping, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, str(key))
            yield from _paths(value, (*path, str(key)))


def _leaves() -> list[Entry]:
    return [entry for entry in core_entries() if not entry.section]


def test_the_page_is_current() -> None:
    page = _page()
    assert page == document_with(reference(), page), STALE


def test_every_key_of_the_base_config_is_on_the_page() -> None:
    """Each key has its heading; a key inside a mapping value (``logging.root.level``) is shown in
    the YAML block of that value."""
    page = _page()
    base = plain(load_document(package_base_text(), "base"))
    headed = {entry.dotted: entry for entry in core_entries()}
    for path in _paths(base):
        dotted = ".".join(path)
        prefixes = (".".join(path[:n]) for n in range(len(path), 0, -1))
        owner = next((prefix for prefix in prefixes if prefix in headed), None)
        assert owner is not None, f"{dotted} has no entry on the page"
        assert f"`{owner}` {{ #{owner.replace('.', '-')} }}" in page, f"no heading for {owner}"
        if owner != dotted:
            block = headed[owner].default
            assert isinstance(block, Block), f"{dotted} is inside {owner}, whose default is not shown"
            assert f"{path[-1]}:" in block.text, f"{dotted} is not in the block shown for {owner}"


def test_every_key_of_mmbridge_has_a_description() -> None:
    undescribed = [entry.dotted for entry in core_entries() if not entry.description]
    assert undescribed == [], "add a comment above these keys in example-config.yaml"


def test_the_defaults_on_the_page_are_the_ones_the_loader_uses() -> None:
    """The base config (what the page shows) and the schema (what applies to a missing key) agree."""
    for entry in _leaves():
        if entry.required != "no":
            continue
        shown = entry.default
        if isinstance(shown, Block):
            shown = plain(load_document(shown.text, "block"))
        assert shown == entry.schema_default, f"{entry.dotted}: {shown!r} != {entry.schema_default!r}"


def _valid_base() -> dict[str, Any]:
    """The base config with the two values it leaves empty filled in."""
    document: dict[str, Any] = plain(load_document(package_base_text(), "base"))
    document["mattermost"]["token"] = "a-token"
    document["mattermost"]["team"] = "main"
    return document


def _load(document: dict[str, Any], env: dict[str, str], tmp_path: Path) -> Any:
    out = io.StringIO()
    YAML(typ="safe").dump(document, out)
    return Bridge.load_config(tmp_path / "config.yaml", env=env, text=out.getvalue())


def _without(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node: Any = document
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return document


@pytest.mark.parametrize("entry", core_entries(), ids=lambda e: e.dotted)
def test_required_is_true(entry: Entry, tmp_path: Path) -> None:
    """A required key left out stops the load, naming it; any other key may be left out."""
    document = _without(_valid_base(), entry.path)
    if entry.required.startswith("yes"):
        with pytest.raises(ConfigError) as caught:
            _load(document, {}, tmp_path)
        assert any(problem.path.startswith(entry.dotted) for problem in caught.value.problems)
    else:
        _load(document, {}, tmp_path)


@pytest.mark.parametrize(
    ("dotted", "raw", "expected"),
    [
        ("mattermost.token", "from-env", "from-env"),
        ("appservice.port", "8080", 8080),
        ("metrics.enabled", "false", False),
        ("puppets.kind", "bot", "bot"),
    ],
)
def test_the_environment_variable_on_the_page_overrides_the_key(
    dotted: str, raw: str, expected: Any, tmp_path: Path
) -> None:
    entry = next(entry for entry in _leaves() if entry.dotted == dotted)
    assert entry.env_works
    assert f"| `{entry.env}` |" in _page()
    config = _load(_valid_base(), {entry.env: raw}, tmp_path)
    value: Any = config.core
    for part in entry.path:
        value = getattr(value, part)
    value = value.reveal() if hasattr(value, "reveal") else value
    assert value == expected


def test_the_example_bridges_sections_are_on_the_page() -> None:
    page = _page()
    for spec in EXAMPLES:
        assert f"(`{spec}`)" in page


@pytest.mark.parametrize("entry", [e for e in _leaves() if e.required == "no"], ids=lambda e: e.dotted)
def test_each_environment_variable_the_page_names_gives_its_key(entry: Entry, tmp_path: Path) -> None:
    """The variable set to the key's default, written as YAML, loads; where the page says the
    variable cannot be used, the load refuses it (when the loader learns it, regenerate the page)."""
    value = entry.schema_default
    raw = value if isinstance(value, str) else _flow(value)
    base = _valid_base()
    if entry.env_works:
        config = _load(base, {entry.env: raw}, tmp_path)
        loaded: Any = config.core
        for part in entry.path:
            loaded = getattr(loaded, part)
        loaded = loaded.reveal() if hasattr(loaded, "reveal") else loaded
        assert loaded == value
    else:
        with pytest.raises(ConfigError, match=entry.env):
            _load(base, {entry.env: raw}, tmp_path)


def _flow(value: Any) -> str:
    yaml = YAML(typ="safe")
    yaml.default_flow_style = True
    out = io.StringIO()
    yaml.dump(value, out)
    return out.getvalue().strip().removesuffix("...").strip()


def test_every_type_a_bridge_setting_may_have_is_worded() -> None:
    """``mmbridge config-reference`` documents third-party sections too: optional values, tuples and
    sets read as the loader takes them, and a type it has no words for is named, not a crash."""
    import typing

    from mmbridge.bridge.config.reference import kind_of

    assert kind_of(int | None) == "whole number, or nothing"
    assert kind_of(typing.Optional[str]) == "text, or nothing"  # noqa: UP045 - the old spelling too
    assert kind_of(tuple[str, ...]) == kind_of(set[str]) == kind_of(list[str]) == "list of text"
    assert kind_of(typing.Literal["a", "b"]) == "one of `a`, `b`"
    assert kind_of(bytes) == "`bytes`"
