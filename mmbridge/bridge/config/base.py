"""The base config of a bridge: mmbridge's ``example-config.yaml``, the bridge's defaults for its
keys, and the bridge's own commented section after it."""

from __future__ import annotations

import io
from collections.abc import Mapping
from importlib import resources
from typing import Any

from ruamel.yaml.comments import CommentedMap

from .yamltext import load_document, round_trip_yaml

PACKAGE_BASE = "example-config.yaml"


def package_base_text() -> str:
    """mmbridge's own base config, shipped in the package."""
    return resources.files("mmbridge.bridge").joinpath(PACKAGE_BASE).read_text(encoding="utf-8")


def compose_base(defaults: Mapping[str, Any] | None = None, section_text: str = "") -> str:
    """The base config text for a bridge.

    Args:
        defaults: values replacing the package's, by dotted key (``{"appservice.id": "irc"}``);
            comments stay as they are.
        section_text: the bridge's own section, commented YAML with one top-level key.

    Raises:
        KeyError: a default names a key the base config does not have.
    """
    text = package_base_text()
    if defaults:
        document = load_document(text, PACKAGE_BASE)
        for dotted, value in defaults.items():
            *parents, last = dotted.split(".")
            node: Any = document
            for part in parents:
                node = node[part]
            if not isinstance(node, CommentedMap) or last not in node:
                raise KeyError(f"the base config has no key {dotted!r}")
            node[last] = value
        out = io.StringIO()
        round_trip_yaml().dump(document, out)
        text = out.getvalue()
    if section_text.strip():
        text = text.rstrip("\n") + "\n\n" + section_text.strip("\n") + "\n"
    return text
