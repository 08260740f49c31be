"""What is wrong with a config file: each problem names its YAML path and line."""

from __future__ import annotations

from collections.abc import Sequence

import attrs


@attrs.frozen
class ConfigProblem:
    """One problem: ``where`` is ``config.yaml:12`` (or an environment variable), ``path`` the key
    path (``mattermost.url``)."""

    path: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        location = f"{self.where}: " if self.where else ""
        return f"{location}{self.path or '(top level)'}: {self.message}"


class ConfigError(Exception):
    """The config cannot be used; :attr:`problems` lists every problem found, not only the first.

    The messages never contain the value of a secret.
    """

    def __init__(self, source: str, problems: Sequence[ConfigProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        count = len(self.problems)
        summary = (
            str(self.problems[0]) if count == 1 else f"{count} problems: " + "; ".join(map(str, problems))
        )
        super().__init__(f"invalid config {source}: {summary}")


class ConfigFileError(Exception):
    """The config file is missing, unreadable or not YAML at all."""
