"""docs/tutorial.md, "Your first bridge", run as written, block by block, in the page's order.

The page's convention: every fenced block has a title (```` ```python title="bridge.py" ````,
which Material shows above the block), and the title says what the block is:

- a file name (``chat.py``, ``config.yaml``, ``bridge.py``, ``test_bridge.py``, ...): the file is
  written to the reader's folder (``tmp_path``). A Python block for a file written before, made of
  imports and ``class Name:`` whose body starts with ``...``, is an addition: its imports are
  merged into the file's, its methods replace the class's methods of the same name or are added at
  the end of the class. A non-Python block for a file that exists shows the file as it is (what
  ``--print-config`` wrote) plus what the reader adds: the test checks that it starts so.
- ``terminal N`` or ``setup``: a console. Lines starting with ``$ `` are commands, the lines after
  one are what it prints. Three commands start programs that run until Ctrl-C (the emulator, the
  chat server, ``mmbridge run``): the test starts them as background processes (a second
  ``mmbridge run`` stops the first with SIGINT, as Ctrl-C would) and waits until what the page
  shows appears in their output, in order. A console block without a command is more output of
  the program running in that terminal. Other commands run to completion, and what they print
  must be what the page shows; ``python mm.py read`` is run again until it is (the bridge works
  asynchronously; a reader types slower than the test). ``setup`` (mkdir, venv, pip install) is
  not run: the test checks that the extra it installs has pytest-asyncio.

The test runs its own way only in what a shared machine needs: free ports instead of 8065, 7000
and 29320 (replaced in the files it writes and in what programs print; the receiver's port through
``MMBRIDGE_APPSERVICE_PORT``), the tmp folder's path shown as ``/home/you/mybridge``, and programs
from this virtualenv. Output is compared without the time at the start of log lines, with every
26-character id, backup file date and pytest duration blurred, so the page can show real output.
The files the page ends with are also type-checked with ``mypy --strict``.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import attrs

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "tutorial.md"
BIN = Path(sys.executable).parent
READER_FOLDER = "/home/you/mybridge"
LONG_RUNNING = ("mmbridge-emulator", "python chat.py serve", "mmbridge run")
RETRIED = ("python mm.py read",)
FENCE = re.compile(r'^```(\w+) title="([^"]+)"\n(.*?)^```$', re.MULTILINE | re.DOTALL)
ANY_FENCE = re.compile(r"^```\w*.*$", re.MULTILINE)


@attrs.frozen
class Block:
    lang: str
    title: str
    text: str


def blocks() -> list[Block]:
    text = PAGE.read_text()
    found = [Block(m[1], m[2], m[3]) for m in FENCE.finditer(text)]
    assert len(ANY_FENCE.findall(text)) == 2 * len(found), "a code block without a title"
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def blur(text: str) -> str:
    """What output is compared as: no log times, ids, dates of backups or durations."""
    text = re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", "", text, flags=re.MULTILINE)
    text = re.sub(r"\b[a-z0-9]{26}\b", "<id>", text)
    text = re.sub(r"\b\d{8}-\d{6}\b", "<date>", text)
    return re.sub(r"\bin \d+\.\d+s\b", "in <n>s", text)


def merge(source: str, addition: str) -> str:
    """``source`` with the imports and methods of ``addition`` (see the module's docstring)."""
    lines = source.splitlines()
    tree = ast.parse(source)
    for node in ast.parse(addition).body:
        if isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            old = next(
                (n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == node.module), None
            )
            if old is not None:
                names = sorted({*names, *(alias.name for alias in old.names)})
                start, end = old.lineno - 1, old.end_lineno or old.lineno
            else:
                last = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)][-1]
                start = end = last.end_lineno or last.lineno
            one_line = f"from {node.module} import {', '.join(names)}"
            if len(one_line) > 110:
                one_line = "\n".join([f"from {node.module} import (", *(f"    {n}," for n in names), ")"])
            lines[start:end] = one_line.splitlines()
        elif isinstance(node, ast.ClassDef):
            body = node.body
            first = body[0]
            assert isinstance(first, ast.Expr), node.name
            assert isinstance(first.value, ast.Constant), node.name
            assert first.value.value is Ellipsis, f"an addition to class {node.name} starts with `...`"
            added = addition.splitlines()
            for method in body[1:]:
                assert isinstance(method, ast.AsyncFunctionDef | ast.FunctionDef)
                new = added[method.lineno - 1 : method.end_lineno]
                cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == node.name)
                old_method = next(
                    (
                        m
                        for m in cls.body
                        if isinstance(m, ast.AsyncFunctionDef | ast.FunctionDef) and m.name == method.name
                    ),
                    None,
                )
                if old_method is not None:
                    lines[old_method.lineno - 1 : old_method.end_lineno] = new
                else:
                    end = cls.end_lineno or cls.lineno
                    lines[end:end] = ["", *new]
                tree = ast.parse("\n".join(lines))
        else:
            raise AssertionError(f"an addition holds imports and `class X: ...` only, not line {node.lineno}")
        tree = ast.parse("\n".join(lines))
    return "\n".join(lines) + "\n"


class Process:
    """A program that runs until stopped, its output in a file."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str], out: Path) -> None:
        self.out = out
        with out.open("wb") as sink:
            self.popen = subprocess.Popen(  # noqa: S602 - the page's commands
                command,
                shell=True,
                cwd=cwd,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.seen = 0  # lines of output already matched by the page

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGINT)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


class Reader:
    """Does what the page says, in its order, in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ports = {"8065": free_port(), "7000": free_port(), "29320": free_port()}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MMBRIDGE_")}
        self.env |= {"PATH": f"{BIN}{os.pathsep}{self.env.get('PATH', '')}", "PYTHONPATH": str(REPO)}
        self.env["MMBRIDGE_APPSERVICE_PORT"] = str(self.ports["29320"])
        self.terminals: dict[str, Process] = {}
        self.written: dict[str, str] = {}  # the files as the page has them (its ports)
        self.ran: list[str] = []

    def ours(self, text: str) -> str:
        for theirs, port in self.ports.items():
            text = re.sub(rf"\b{theirs}\b", str(port), text)
        return text

    def theirs(self, text: str) -> str:
        for theirs, port in self.ports.items():
            text = re.sub(rf"\b{port}\b", theirs, text)
        return blur(text.replace(str(self.folder), READER_FOLDER))

    def write(self, block: Block) -> None:
        name, text = block.title, block.text
        path = self.folder / name
        if name in self.written and block.lang == "python":
            text = merge(self.written[name], text)
        elif path.exists():
            assert self.ours(text).startswith(path.read_text()), f"{name} does not start as it is written"
        self.written[name] = text
        path.write_text(self.ours(text))

    def console(self, block: Block) -> None:
        if block.title == "setup":
            self.setup(block)
            return
        command, expected = "", list[str]()
        steps: list[tuple[str, list[str]]] = []
        for line in block.text.splitlines():
            if line.startswith("$ "):
                if command or expected:
                    steps.append((command, expected))
                command, expected = line[2:], []
            else:
                expected.append(line)
        steps.append((command, expected))
        for command, expected in steps:
            self.step(block.title, command, expected)

    def step(self, terminal: str, command: str, expected: list[str]) -> None:
        self.ran.append(command)
        if not command:  # more output of the program running there
            self.expect(self.terminals[terminal], expected)
            return
        if command.startswith(LONG_RUNNING):
            if terminal in self.terminals:
                self.terminals[terminal].stop()
            if command.startswith("mmbridge-emulator"):
                command = command.replace(
                    "mmbridge-emulator", f"mmbridge-emulator --port {self.ports['8065']}"
                )
            out = self.folder / f"{terminal.replace(' ', '-')}-{len(self.ran)}.out"
            process = self.terminals[terminal] = Process(self.ours(command), self.folder, self.env, out)
            self.expect(process, expected)
            return
        for _ in range(100):
            done = subprocess.run(  # noqa: S602 - the page's commands
                self.ours(command),
                shell=True,
                cwd=self.folder,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=20,
            )
            assert done.returncode == 0, f"$ {command}\n{done.stdout}{done.stderr}"
            shown = self.theirs(done.stdout + done.stderr).splitlines()
            if shown == blur("\n".join(expected)).splitlines() or not command.startswith(RETRIED):
                break
            time.sleep(0.1)
        assert shown == blur("\n".join(expected)).splitlines(), f"$ {command}"

    def expect(self, process: Process, expected: list[str]) -> None:
        """Wait until the lines appear in the program's output, in order, after what was seen."""
        wanted = blur("\n".join(expected)).splitlines()
        for _ in range(150):
            lines = self.theirs(process.out.read_text()).splitlines()
            position, missing = process.seen, list(wanted)
            while missing and position < len(lines):
                if lines[position] == missing[0]:
                    missing.pop(0)
                position += 1
            if not missing:
                process.seen = position
                return
            assert process.popen.poll() is None, f"exited:\n{process.out.read_text()}"
            time.sleep(0.1)
        raise AssertionError(f"not in the output: {missing[0]!r}\n{process.out.read_text()}")

    def setup(self, block: Block) -> None:
        """The reader's ``pip install 'mmbridge[EXTRA]'`` installs pytest and pytest-asyncio."""
        [extra] = re.findall(r"pip install 'mmbridge\[(\w+)\]'", block.text)
        extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
        assert {re.split(r"[<>=!~; \[]", req)[0] for req in extras[extra]} >= {"pytest", "pytest-asyncio"}

    def stop(self) -> None:
        for process in reversed(self.terminals.values()):
            process.stop()


def run_page(folder: Path) -> Reader:
    reader = Reader(folder)
    try:
        for block in blocks():
            if block.lang == "console":
                reader.console(block)
            else:
                reader.write(block)
    finally:
        reader.stop()
    return reader


def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    reader = run_page(tmp_path)
    # What each step promises, beyond the output compared on the way:
    commands = [c for c in reader.ran if c]
    assert commands.count("mmbridge run -c config.yaml") == 4  # started, then restarted for each step
    assert "pytest -q" in commands  # the page's own test ran, and passed (its output was compared)
    chat = reader.terminals["terminal 2"].out.read_text().splitlines()
    assert chat[1:] == [
        "message lobby ann: hello from the chat",
        "message lobby alice: hi ann, this is Mattermost (reply to 1)",
        "message lobby bo: hi alice (reply to 1)",
        "edit    lobby ann: hello from the chat, edited",
        "edit    lobby alice: hi ann and bo",
        "react   lobby bo: wave (on 1)",
        "react   lobby alice: tada (on 2)",
    ]  # nothing the bridge posted came back to the chat
    assert "Traceback" not in "".join(p.out.read_text() for p in reader.terminals.values())


def test_the_final_files_type_check(tmp_path: Path) -> None:
    """The page's Python, as the reader ends with it, passes ``mypy --strict``."""
    reader = Reader(tmp_path)
    for block in blocks():
        if block.lang == "python":
            reader.write(block)
    files = sorted(name for name in reader.written if name.endswith(".py"))
    assert files == ["bridge.py", "chat.py", "mm.py", "test_bridge.py"]
    done = subprocess.run(  # noqa: S603 - mypy on the written files
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *files],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_addition_replaces_and_adds_methods() -> None:
    source = "import a\nfrom b import X\n\n\nclass C:\n    def f(self) -> None:\n        pass\n"
    addition = (
        "from b import Y\nfrom z import W\n\n\nclass C:\n    ...\n\n"
        "    def f(self) -> int:\n        return 1\n\n    def g(self) -> None:\n        pass\n"
    )
    assert merge(source, addition) == (
        "import a\nfrom b import X, Y\nfrom z import W\n\n\nclass C:\n    def f(self) -> int:\n"
        "        return 1\n\n    def g(self) -> None:\n        pass\n"
    )
