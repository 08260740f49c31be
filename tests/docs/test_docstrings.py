"""Every public name of the ``mmbridge`` package has a docstring (the API reference is built from them).

Public means: a module whose dotted path has no part starting with ``_`` (``__init__`` and
``__main__`` are the package's own and count), and in it every class, function, method and
property whose name does not start with ``_``, inside public classes, at any depth of classes.
The source is read, not imported, for two reasons: a name is counted once, where it is defined (a
re-export or an ``__all__`` entry is not a second definition), and a dataclass or attrs class
gets a generated ``__doc__`` (its signature) that would hide a missing docstring. Not counted:
functions nested in functions (not reachable), ``@overload`` stubs, and a property's setter and
deleter (the getter's docstring is the property's). An override needs its own line too: the
reference shows each class's members, and the line says what this class's version does.
Route handlers of the emulator are public functions of their route modules, so they count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "mmbridge"

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def public_modules() -> Iterator[tuple[str, Path]]:
    """Each public module of the package: its dotted name and its file."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if any(part.startswith("_") and part not in ("__init__", "__main__") for part in parts):
            continue
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _skipped(node: Definition) -> bool:
    for decorator in node.decorator_list:
        name = decorator.attr if isinstance(decorator, ast.Attribute) else getattr(decorator, "id", "")
        if name in ("overload", "setter", "deleter"):
            return True
    return node.name.startswith("_")


def _definitions(body: list[ast.stmt]) -> Iterator[Definition]:
    """The classes and functions defined directly in a module or class body (through if/try blocks)."""
    for node in body:
        if isinstance(node, Definition):
            yield node
        elif isinstance(node, ast.If):
            yield from _definitions(node.body)
            yield from _definitions(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _definitions(block)


def public_names(tree: ast.Module, module: str) -> Iterator[tuple[str, Definition]]:
    """Each public class, function, method and property of a module, by qualified name."""

    def walk(body: list[ast.stmt], prefix: str) -> Iterator[tuple[str, Definition]]:
        for node in _definitions(body):
            if _skipped(node):
                continue
            yield f"{prefix}.{node.name}", node
            if isinstance(node, ast.ClassDef):
                yield from walk(node.body, f"{prefix}.{node.name}")

    yield from walk(tree.body, module)


def missing_docstrings() -> list[str]:
    """Every public module and name without a docstring, as ``file:line name``."""
    missing = []
    for module, path in public_modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        where = path.relative_to(PACKAGE.parent)
        if not ast.get_docstring(tree):
            missing.append(f"{where}:1 {module} (module)")
        missing += [
            f"{where}:{node.lineno} {name}"
            for name, node in public_names(tree, module)
            if not ast.get_docstring(node)
        ]
    return missing


def test_every_public_name_has_a_docstring() -> None:
    missing = missing_docstrings()
    assert not missing, f"{len(missing)} public names without a docstring:\n" + "\n".join(missing)


def test_the_walk_sees_the_whole_public_api() -> None:
    """Guards the walk: it reaches the layers, methods, properties and route handlers."""
    modules = dict(public_modules())
    for name in (
        "mmbridge",
        "mmbridge.api",
        "mmbridge.bridge.toolkit",
        "mmbridge.testing.emulator.routes.posts",
    ):
        assert name in modules, name
    assert "mmbridge.__main__" in modules
    names = {
        name
        for module in (
            "mmbridge.types.events",
            "mmbridge.bridge.bridge",
            "mmbridge.testing.emulator.routes.posts",
        )
        for name, _ in public_names(ast.parse(modules[module].read_text()), module)
    }
    assert "mmbridge.types.events.PostedEvent.channel_id" in names  # a property
    assert "mmbridge.bridge.bridge.Bridge.where" in names  # a method
    assert "mmbridge.bridge.bridge.Bridge._guard_setup" not in names  # private
    assert any(name.startswith("mmbridge.testing.emulator.routes.posts.") for name in names)  # handlers


def test_a_missing_docstring_is_found() -> None:
    source = "class A:\n    '''Doc.'''\n    def f(self): pass\n    @property\n    def p(self): '''P.'''\n"
    source += "    @p.setter\n    def p(self, v): pass\ndef _private(): pass\nasync def g(): pass\n"
    found = {name for name, node in public_names(ast.parse(source), "m") if not ast.get_docstring(node)}
    assert found == {"m.A.f", "m.g"}
