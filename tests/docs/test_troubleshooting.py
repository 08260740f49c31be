"""``docs/troubleshooting.md`` names every exit code and every start-up error the code can print.

Everything is found in the code itself, so a new exit code, a new :class:`StartupError` subclass or a
new message fails here until the page documents it:

* exit codes, matched by number (the first cell of a row of the program's "Exit codes of
  `<script>`" table): the ``EXIT_*`` constants and every ``exit_code`` of
  :mod:`mmbridge.bridge.errors`, and the integers the console scripts' entry points return;
* error classes, matched by name: every ``StartupError`` subclass (in ``mmbridge`` and the
  examples) is named in the row of its exit code, with the summary the command prints;
* messages, matched by a fixed prefix (the first constant words of the message template, up to a
  ``;``, ``(`` or backtick): every ``raise <StartupError subclass>(...)``; where that message is
  only another exception's text (``str(exc)``), the messages of what the ``except`` caught; the
  config problems and rights problems that make up the one-line messages; what the scripts print
  on their own (``_say``, ``parser.error``, ``print(..., file=sys.stderr)``).

A fixed prefix is the part of a message that does not depend on the config or the server, so it
is what a reader searching the page for the line they got will type; it changes only when the
message is reworded, which is exactly when the page must change too.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from mmbridge.bridge import errors as startup_errors
from mmbridge.bridge.errors import StartupError

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "troubleshooting.md"

# Messages assembled as lists of problems rather than raised. ConfigError lists the loader's
# problems: (module, call that records one, index of the message argument).
PROBLEM_CALLS = (
    ("mmbridge.bridge.config.loader", "problem", 1),
    ("mmbridge.bridge.config.loader", "_TypeProblem", 0),
)
# MissingRightsError lists what missing_rights() finds: every f-string in it is one problem.
PROBLEM_FUNCTIONS = (("mmbridge.bridge.rights", "missing_rights"),)
# The exceptions whose own text is the whole server answer: not followed (their class is documented).
NOT_FOLLOWED = ("mmbridge.errors",)


@dataclass(frozen=True)
class Message:
    """One message template found in the code and the prefix the page must contain."""

    where: str
    key: str


def _modules() -> Iterator[tuple[ModuleType, Path]]:
    for base in ("mmbridge", "examples"):
        for path in sorted((ROOT / base).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue  # runs its program on import; read by _script_messages instead
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield importlib.import_module(name), path


MODULES = list(_modules())


def _resolve(module: ModuleType, node: ast.expr) -> object:
    if isinstance(node, ast.Name):
        return getattr(module, node.id, None)
    if isinstance(node, ast.Attribute):
        base = _resolve(module, node.value)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def _pieces(node: ast.expr | None) -> list[str]:
    """The constant parts of a message template, in order."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [str(value.value) for value in node.values if isinstance(value, ast.Constant)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _pieces(node.left) + _pieces(node.right)
    return []


def fixed_prefix(pieces: list[str]) -> str:
    """The first constant words of a template: cut at ``;``, ``(`` or a backtick, two words if any."""
    words = [re.split(r"[;(`]", piece)[0].strip(" :;,.${}") for piece in pieces]
    words = [word for word in words if word]
    return next((word for word in words if " " in word), next(iter(words), ""))


def _stripped(node: ast.expr) -> ast.expr:
    return node.args[0] if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "str" else node


def _caught(module: ModuleType, handler: ast.ExceptHandler) -> list[type[BaseException]]:
    if handler.type is None:
        return []
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    found = [_resolve(module, node) for node in nodes]
    return [cls for cls in found if isinstance(cls, type) and issubclass(cls, BaseException)]


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _function_returns(module: ModuleType, call: ast.Call) -> list[list[str]]:
    """The templates returned by the function a message is built with (``rights_message(...)``)."""
    func = _resolve(module, call.func)
    if func is None and isinstance(call.func, ast.Attribute):  # self._method(...)
        func = next(
            (
                getattr(value, call.func.attr)
                for value in vars(module).values()
                if hasattr(value, call.func.attr)
            ),
            None,
        )
    code = getattr(func, "__code__", None)
    if code is None:
        return []
    source = Path(code.co_filename)
    tree = ast.parse(source.read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.FunctionDef)
            and node.name == code.co_name
            and node.lineno <= code.co_firstlineno + 2
        ):
            return [_pieces(ret.value) for ret in ast.walk(node) if isinstance(ret, ast.Return)]
    return []


def _raised_messages(cls: type[BaseException]) -> list[Message]:
    """The messages of every ``raise`` of ``cls`` or a subclass in ``mmbridge``."""
    found = []
    for module, path in MODULES:
        if not module.__name__.startswith("mmbridge."):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                raised = _resolve(module, node.exc.func)
                if isinstance(raised, type) and issubclass(raised, cls) and node.exc.args:
                    key = fixed_prefix(_pieces(node.exc.args[0]))
                    if key:
                        found.append(Message(f"{path.relative_to(ROOT)}:{node.lineno}", key))
    return found


def startup_messages() -> list[Message]:
    """Every message a StartupError can carry, as far as the code says."""
    messages: list[Message] = []
    for module, path in MODULES:
        tree = ast.parse(path.read_text())
        parents = _parents(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            raised = _resolve(module, node.exc.func)
            if not (isinstance(raised, type) and issubclass(raised, StartupError)) or not node.exc.args:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            argument = _stripped(node.exc.args[0])
            key = fixed_prefix(_pieces(argument))
            if key:
                messages.append(Message(where, key))
                continue
            if isinstance(argument, ast.Call):  # a message built by a function
                messages += [
                    Message(where, k) for k in map(fixed_prefix, _function_returns(module, argument)) if k
                ]
                continue
            handler: ast.AST = node
            while handler in parents and not isinstance(handler, ast.ExceptHandler):
                handler = parents[handler]
            if isinstance(handler, ast.ExceptHandler):  # the text of what was caught
                for cls in _caught(module, handler):
                    if cls.__module__.startswith("mmbridge") and cls.__module__ not in NOT_FOLLOWED:
                        messages += _raised_messages(cls)
    for module_name, call_name, index in PROBLEM_CALLS:
        module = importlib.import_module(module_name)
        path = Path(str(module.__file__))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and len(node.args) > index:
                name = (
                    node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                )
                key = fixed_prefix(_pieces(node.args[index]))
                if name == call_name and key:
                    messages.append(Message(f"{path.relative_to(ROOT)}:{node.lineno}", key))
    for module_name, function in PROBLEM_FUNCTIONS:
        path = Path(str(importlib.import_module(module_name).__file__))
        tree = ast.parse(path.read_text())
        body = next(
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef) and n.name == function
        )
        for found in ast.walk(body):
            key = fixed_prefix(_pieces(found)) if isinstance(found, ast.JoinedStr) else ""
            if key and isinstance(found, ast.JoinedStr):
                messages.append(Message(f"{path.relative_to(ROOT)}:{found.lineno}", key))
    return messages


def _scripts() -> dict[str, tuple[Path, str]]:
    """Each console script: the file and the name of its entry function."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    scripts = {}
    for script, target in project["scripts"].items():
        module_name, _, function = target.partition(":")
        spec = importlib.util.find_spec(module_name)
        assert spec is not None, target
        assert spec.origin is not None, target
        scripts[script] = (Path(spec.origin), function)
    return scripts


def script_exit_codes(script: str) -> set[int]:
    """The integers a console script's entry function returns or exits with, names resolved."""
    path, function = _scripts()[script]
    tree = ast.parse(path.read_text())
    constants = {
        name: getattr(startup_errors, name) for name in dir(startup_errors) if name.startswith("EXIT_")
    }
    codes = {1}  # Python's own code for an uncaught exception
    if "argparse" in path.read_text():
        codes.add(2)  # argparse's code for a wrong command line
    main = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == function)
    for node in ast.walk(main):
        value = node.value if isinstance(node, ast.Return) else None
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "exit" and node.args:
            value = node.args[0]
        if isinstance(value, ast.Constant) and isinstance(value.value, int):
            codes.add(value.value)
        elif isinstance(value, ast.Name) and value.id in constants:
            codes.add(constants[value.id])
    return codes


def _script_messages(script: str) -> list[Message]:
    """What a script prints on its own: ``_say(...)``, ``parser.error(...)``, prints to stderr."""
    path, _ = _scripts()[script]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        to_stderr = any(k.arg == "file" and "stderr" in ast.unparse(k.value) for k in node.keywords)
        if name in ("_say", "error") or (name == "print" and to_stderr):
            key = fixed_prefix(_pieces(node.args[0]))
            if key:
                found.append(Message(f"{path.relative_to(ROOT)}:{node.lineno}", key))
    return found


def all_startup_errors() -> list[type[StartupError]]:
    """Every StartupError subclass of mmbridge and the examples (all their modules imported)."""
    assert MODULES
    found: list[type[StartupError]] = []
    pending = list(StartupError.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending += cls.__subclasses__()
    return sorted(found, key=lambda cls: (cls.exit_code, cls.__name__))


def _page_text() -> str:
    return " ".join(PAGE.read_text().split())


def _exit_rows(script: str) -> dict[str, str]:
    """The rows of the page's "Exit codes of `script`" table, by their first cell."""
    sections = re.split(r"^## ", PAGE.read_text(), flags=re.MULTILINE)
    title = f"exit codes of `{script}`"
    section = next((s for s in sections if s.splitlines()[0].lower().strip() == title), None)
    assert section is not None, f"no section '## Exit codes of `{script}`' in {PAGE.name}"
    return {line.split("|")[1].strip(): line for line in section.splitlines() if line.startswith("| ")}


@pytest.mark.parametrize("script", sorted(_scripts()))
def test_every_exit_code_of_every_script_has_a_row(script: str) -> None:
    codes = script_exit_codes(script)
    if script == "mmbridge":
        codes |= {getattr(startup_errors, n) for n in dir(startup_errors) if n.startswith("EXIT_")}
        codes |= {cls.exit_code for cls in all_startup_errors()}
    rows = _exit_rows(script)
    missing = sorted(code for code in codes if str(code) not in rows)
    assert not missing, f"exit codes of {script} not in {PAGE.name}: {missing}"


def test_the_extractor_finds_what_it_should() -> None:
    """Guards the test itself: the code it reads has not moved away from under it."""
    assert script_exit_codes("mmbridge-emulator") == {0, 1, 2}
    assert {0, 1} <= script_exit_codes("mmbridge")
    classes = all_startup_errors()
    assert startup_errors.BridgeSetupError in classes
    assert startup_errors.CommandError in classes
    keys = {message.key for message in startup_messages()}
    assert "no registration file" in keys  # raised directly
    assert "another process" in keys  # DatabaseLockedError's text, passed through
    assert "unknown key" in keys  # a config problem
    assert "the bridge bot cannot run this bridge" in keys  # built by rights_message()
    assert "cannot listen on" in keys  # built by a method
    assert fixed_prefix(["", ": no such file (write one with `mmbridge generate-config`)"]) == "no such file"


def test_every_startup_error_class_is_in_the_row_of_its_exit_code() -> None:
    rows = _exit_rows("mmbridge")
    for cls in all_startup_errors():
        row = rows.get(str(cls.exit_code), "")
        assert f"`{cls.__name__}`" in row, f"{cls.__name__} (exit {cls.exit_code}) not in its row"
        assert f"`{cls.summary}`" in row, f"{cls.__name__}'s summary {cls.summary!r} not in its row"


def test_each_startup_error_has_its_own_exit_code() -> None:
    codes = [cls.exit_code for cls in startup_errors.STARTUP_ERRORS]
    assert len(set(codes)) == len(codes)
    assert set(startup_errors.STARTUP_ERRORS) <= set(all_startup_errors())


def test_every_startup_message_is_on_the_page() -> None:
    page = _page_text()
    missing = [f"{m.where}: {m.key!r}" for m in startup_messages() if m.key not in page]
    assert not missing, f"messages not in {PAGE.name}:\n" + "\n".join(missing)


@pytest.mark.parametrize("script", sorted(_scripts()))
def test_what_each_script_prints_itself_is_on_the_page(script: str) -> None:
    page = _page_text()
    missing = [f"{m.where}: {m.key!r}" for m in _script_messages(script) if m.key not in page]
    assert not missing, f"messages not in {PAGE.name}:\n" + "\n".join(missing)


def test_the_mmbridge_classes_main_catches_are_named() -> None:
    """``main`` turns some exceptions into exit codes itself (``BridgeFailedError``: exit 1)."""
    path, function = _scripts()["mmbridge"]
    module = sys.modules.get("mmbridge.bridge.cli") or importlib.import_module("mmbridge.bridge.cli")
    tree = ast.parse(path.read_text())
    main = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == function)
    page = _page_text()
    for handler in (node for node in ast.walk(main) if isinstance(node, ast.ExceptHandler)):
        for cls in _caught(module, handler):
            if cls.__module__.startswith("mmbridge"):
                assert f"`{cls.__name__}`" in page, cls.__name__
