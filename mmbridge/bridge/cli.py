"""The ``mmbridge`` command: run a bridge daemon, write its config and registration, check a config.

::

    mmbridge generate-config --bridge examples.mirror:MirrorBridge -o config.yaml
    mmbridge generate-registration -c config.yaml
    mmbridge check-config -c config.yaml
    mmbridge run -c config.yaml
    mmbridge config-reference --bridge examples.mirror:MirrorBridge > docs/config.md

A start that cannot succeed prints one line per problem, saying what and where, and exits with the
code of its class (see :mod:`mmbridge.bridge.errors`); ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from ..db import DatabaseError
from ..errors import MalformedResponseError, MattermostConnectionError, UnauthorizedError
from .bridge import Bridge, BridgeFailedError
from .config import (
    ConfigError,
    ConfigFileError,
    ConfigUpgradeError,
    LoadedConfig,
    UpgradeReport,
    env_name,
    plan_upgrade,
    write_upgrade,
)
from .config.loader import expand_references, read_config_file
from .config.reference import core_reference, section_reference
from .config.yamltext import load_document
from .deadletters import dead_letters
from .errors import (
    EXIT_INTERNAL,
    EXIT_OK,
    AuthenticationError,
    BridgeNotFoundError,
    CommandError,
    ConfigInvalidError,
    ConfigMissingError,
    DatabaseUnavailableError,
    ServerUnreachableError,
    StartupError,
)
from .files import atomic_write
from .logs import config_secrets, configure_logging
from .notify import NotifyError, notify_once
from .registration import Registration, check_registration, load_registration, write_registration

ENTRY_POINT_GROUP = "mmbridge.bridges"
PROGRAM = "mmbridge"


def version() -> str:
    """The installed mmbridge version."""
    try:
        return metadata.version("mmbridge")
    except metadata.PackageNotFoundError:
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description="Run and manage mmbridge bridge daemons.")
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {version()}")
    parser.add_argument("--debug", action="store_true", help="DEBUG logging and tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def bridge_option(sub: argparse.ArgumentParser) -> None:
        # --debug after the command too (`mmbridge run -c x --debug`); SUPPRESS keeps the top one.
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        sub.add_argument(
            "--bridge",
            default="",
            metavar="MODULE:CLASS",
            help=f"the bridge class, or the name of an installed one (entry points {ENTRY_POINT_GROUP})",
        )

    run = commands.add_parser("run", help="run the bridge until SIGTERM or SIGINT")
    run.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    run.add_argument("-r", "--registration", type=Path, default=None, help="default: appservice.registration")
    run.add_argument("--no-update", action="store_true", help="do not add new keys to the config file")
    bridge_option(run)

    generate = commands.add_parser("generate-config", help="write the commented base config")
    generate.add_argument("-o", "--output", type=Path, default=None, help="default: standard output")
    generate.add_argument("--force", action="store_true", help="overwrite an existing file")
    bridge_option(generate)

    register = commands.add_parser(
        "generate-registration", help="write registration.yaml and print what the server must allow"
    )
    register.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    register.add_argument(
        "-r", "--registration", type=Path, default=None, help="default: appservice.registration"
    )
    register.add_argument(
        "--force", action="store_true", help="replace an existing registration (new secrets)"
    )
    bridge_option(register)

    check = commands.add_parser("check-config", help="list every problem of a config (exit 0 when none)")
    check.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    bridge_option(check)

    notify = commands.add_parser("notify", help="send a message as the bridge bot to @user or ~channel")
    notify.add_argument("text", help="the message (Mattermost markdown)")
    notify.add_argument("--to", default="", metavar="@USER|~CHANNEL", help="default: notify.default_target")
    notify.add_argument(
        "--key", default=None, help="send or update: a later call with this key edits the post"
    )
    notify.add_argument("--file", action="append", type=Path, default=[], help="attach a file (repeatable)")
    notify.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    bridge_option(notify)

    reference = commands.add_parser(
        "config-reference", help="print every config key of the bridge, as Markdown, for its docs"
    )
    reference.add_argument(
        "--section-only",
        action="store_true",
        help="only the bridge's own section and the defaults it changes",
    )
    bridge_option(reference)

    letters = commands.add_parser("dead-letters", help="list, replay or discard events whose handlers failed")
    letters.add_argument("action", choices=("list", "replay", "discard"), nargs="?", default="list")
    letters.add_argument("letter_ids", nargs="*", metavar="ID", help="letters to replay or discard")
    letters.add_argument("--all", action="store_true", help="replay or discard every letter")
    letters.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    bridge_option(letters)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mmbridge`` console script and ``python -m mmbridge``."""
    args = _parser().parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "run": _run,
        "generate-config": _generate_config,
        "config-reference": _config_reference,
        "generate-registration": _generate_registration,
        "check-config": _check_config,
        "dead-letters": _dead_letters,
        "notify": _notify,
    }
    try:
        return commands[args.command](args)
    except StartupError as exc:
        _fail(exc, args.debug)
        return exc.exit_code
    except BridgeFailedError as exc:
        _say(f"the bridge failed while running: {exc}")
        _traceback(exc, args.debug)
        return EXIT_INTERNAL
    except KeyboardInterrupt:  # before the signal handlers are in place
        return EXIT_OK
    except Exception as exc:
        _say(
            f"unexpected error: {type(exc).__name__}: {exc}"
            + ("" if args.debug else " (--debug for details)")
        )
        _traceback(exc, args.debug)
        return EXIT_INTERNAL


def _say(line: str, stream: TextIO | None = None) -> None:
    print(f"{PROGRAM}: {line}", file=stream or sys.stderr, flush=True)


def _fail(exc: StartupError, debug: bool) -> None:
    if isinstance(exc, ConfigInvalidError) and isinstance(exc.__cause__, ConfigError):
        for problem in exc.__cause__.problems:
            _say(f"{exc.summary}: {problem}")
    else:
        _say(f"{exc.summary}: {exc}")
    _traceback(exc, debug)


def _traceback(exc: BaseException, debug: bool) -> None:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)


# ---- finding the bridge class ---------------------------------------------------------------------


def _only_installed_bridge() -> str:
    names = [entry.name for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)]
    return names[0] if len(names) == 1 else ""


def find_bridge_class(spec: str) -> type[Bridge[Any]]:
    """The bridge class named by ``spec``: ``package.module:Class``, an installed bridge's entry point
    name, or (``spec`` empty) the only installed bridge, else the plain :class:`Bridge`.

    Raises:
        BridgeNotFoundError: nothing of that name, or not a Bridge.
    """
    if ":" in spec:
        module_name, _, attribute = spec.partition(":")
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.append(str(Path.cwd()))  # a bridge in the working folder, after installed packages
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise BridgeNotFoundError(
                f"cannot import {module_name!r} for the bridge {spec!r}: {exc}"
            ) from exc
        found = getattr(module, attribute, None)
    else:
        installed = {entry.name: entry for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}
        if not spec:
            if len(installed) != 1:
                return Bridge
            spec = next(iter(installed))
        entry = installed.get(spec)
        if entry is None:
            known = ", ".join(sorted(installed)) or "none installed"
            raise BridgeNotFoundError(f"no bridge named {spec!r} (installed: {known}; or give module:Class)")
        try:
            found = entry.load()
        except Exception as exc:
            raise BridgeNotFoundError(
                f"the bridge {spec!r} failed to load: {type(exc).__name__}: {exc}"
            ) from exc
    if not (isinstance(found, type) and issubclass(found, Bridge)):
        raise BridgeNotFoundError(f"{spec!r} is not a mmbridge Bridge class")
    return found


def _bridge_class_for(args: argparse.Namespace, config_text: str, source: str) -> type[Bridge[Any]]:
    """``--bridge``, else ``MMBRIDGE_BRIDGE``, else the config's ``bridge:`` (``${VAR}`` expanded)."""
    spec: str = args.bridge or os.environ.get(env_name(("bridge",)), "")
    if not spec:
        try:
            named = load_document(config_text, source).get("bridge", "")
        except ConfigFileError as exc:
            raise ConfigMissingError(str(exc)) from exc
        try:
            spec = expand_references(named, os.environ) if isinstance(named, str) else ""
        except KeyError as exc:
            raise ConfigInvalidError(
                f"{source}: bridge: the environment variable {exc.args[0]} is not set"
            ) from None
    return find_bridge_class(spec)


# ---- loading ---------------------------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        return read_config_file(path)
    except ConfigFileError as exc:
        raise ConfigMissingError(str(exc)) from exc


def _upgrade_plan(bridge_class: type[Bridge[Any]], text: str, path: Path) -> UpgradeReport:
    try:
        return plan_upgrade(text, bridge_class.base_config(), bridge_class.config_layout(), str(path))
    except ConfigFileError as exc:
        raise ConfigMissingError(str(exc)) from exc
    except ConfigUpgradeError as exc:  # a bug in the upgrader: never write, say so, go on as is
        logging.getLogger("mmbridge").warning("%s", exc)
        return UpgradeReport(text)


def _load(bridge_class: type[Bridge[Any]], path: Path, text: str) -> LoadedConfig[Any]:
    try:
        return bridge_class.load_config(path, text=text)
    except ConfigFileError as exc:
        raise ConfigMissingError(str(exc)) from exc
    except ConfigError as exc:
        raise ConfigInvalidError(str(exc)) from exc


def _configure_logging(config: LoadedConfig[Any], debug: bool) -> None:
    try:
        configure_logging(
            config.core.logging, debug=debug, secrets=config_secrets(config.core, config.section)
        )
    except (ValueError, TypeError, AttributeError, ImportError) as exc:
        raise ConfigInvalidError(f"{config.path}: logging: the dictConfig is refused: {exc}") from exc


def _upgraded(
    bridge_class: type[Bridge[Any]], config: LoadedConfig[Any], text: str, no_update: bool
) -> tuple[LoadedConfig[Any], list[str]]:
    """The config to run with, after writing the upgrade of a valid file; and what to log about it.

    The file is checked as it is first (so problems name its own lines), and the upgrade is written
    only when it loads too: an invalid file is never touched.
    """
    path = config.path
    report = _upgrade_plan(bridge_class, text, path)
    notes = [str(problem) for problem in report.not_added]
    if not report.changed:
        return config, notes
    added = ", ".join(report.added)
    if no_update:
        return config, [*notes, f"{path} lacks {added}: defaults used (--no-update)"]
    try:
        upgraded = bridge_class.load_config(path, text=report.text)
    except (ConfigError, ConfigFileError) as exc:  # cannot happen when the upgrader is right
        return config, [*notes, f"{path} not upgraded: the upgraded text would not load ({exc})"]
    try:
        backup = write_upgrade(path, report.text)
    except OSError as exc:
        return config, [*notes, f"{path} could not be upgraded ({exc.strerror}): defaults used for {added}"]
    return upgraded, [*notes, f"{path} upgraded: added {added}; the old file is {backup}"]


def _registration_path(args: argparse.Namespace, config: LoadedConfig[Any]) -> Path:
    given: Path | None = args.registration
    if given is not None:
        return given
    return config.directory / config.core.appservice.registration


# ---- commands --------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    path: Path = args.config
    text = _read(path)
    bridge_class = _bridge_class_for(args, text, str(path))
    config, notes = _upgraded(bridge_class, _load(bridge_class, path, text), text, args.no_update)
    _configure_logging(config, args.debug)
    log = logging.getLogger("mmbridge")
    for note in notes:
        log.warning("%s", note)
    registration_path = _registration_path(args, config)
    registration = load_registration(registration_path)
    check_registration(registration, config.core, registration_path)
    bridge = bridge_class(config, registration=registration)
    asyncio.run(_serve(bridge, log))
    return EXIT_OK


async def _serve(bridge: Bridge[Any], log: logging.Logger) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()

    def on_signal(name: str) -> None:
        if stop.is_set():
            log.warning("second %s: stopping at once", name)
            if main_task is not None:
                main_task.cancel()
            return
        log.info("%s received: stopping (send it again to stop at once)", name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig.name)
    try:
        await bridge.run(stop)
    except asyncio.CancelledError:
        await bridge.stop()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)


def _write(path: Path, text: str) -> None:
    try:
        atomic_write(path, text, mode=0o600)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from exc


def _generate_config(args: argparse.Namespace) -> int:
    bridge_class = find_bridge_class(args.bridge)
    spec = args.bridge or ("" if bridge_class is Bridge else _only_installed_bridge())
    text = bridge_class.base_config(spec=spec)
    output: Path | None = args.output
    if output is None:
        sys.stdout.write(text)
        return EXIT_OK
    if output.exists() and not args.force:
        raise CommandError(f"{output} exists; give --force to replace it")
    _write(output, text)
    print(
        f"wrote {output}: set mattermost.url, mattermost.token and mattermost.team, then run "
        f"`{PROGRAM} generate-registration -c {output}`"
    )
    return EXIT_OK


def _config_reference(args: argparse.Namespace) -> int:
    bridge_class = find_bridge_class(args.bridge)
    parts = [] if args.section_only else [core_reference(2)]
    own = section_reference(bridge_class, 2)
    if own:
        parts.append(own)
    sys.stdout.write("\n".join(parts))
    return EXIT_OK


def _generate_registration(args: argparse.Namespace) -> int:
    path: Path = args.config
    text = _read(path)
    bridge_class = _bridge_class_for(args, text, str(path))
    config = _load(bridge_class, path, text)
    target = _registration_path(args, config)
    if target.exists() and not args.force:
        raise CommandError(f"{target} exists; give --force to replace it (and its secrets)")
    spec = args.bridge or config.core.bridge or f"{bridge_class.__module__}:{bridge_class.__qualname__}"
    registration = Registration.from_config(config.core, bridge=spec)
    try:
        write_registration(target, registration)
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror}") from exc
    needs = bridge_class.requirements(config.core.puppets.kind)
    print(f"wrote {target} for bridge {registration.id!r} (receiver {registration.receiver_url})")
    for line in needs.describe():
        print(line)
    return EXIT_OK


def _check_config(args: argparse.Namespace) -> int:
    path: Path = args.config
    text = _read(path)
    bridge_class = _bridge_class_for(args, text, str(path))
    config = _load(bridge_class, path, text)  # the file as it is: its own lines
    _configure_logging(config, args.debug)  # a dictConfig the logging module refuses fails here too
    report = _upgrade_plan(bridge_class, text, path)
    for added in report.added:
        print(f"{path}: {added}: missing; `{PROGRAM} run` adds it with its default")
    for problem in report.not_added:
        print(problem)
    print(f"{path}: OK (bridge {config.core.appservice.id!r}, {bridge_class.__name__})")
    return EXIT_OK


def _dead_letters(args: argparse.Namespace) -> int:
    path: Path = args.config
    text = _read(path)
    bridge_class = _bridge_class_for(args, text, str(path))
    config = _load(bridge_class, path, text)
    bridge = bridge_class(config)
    try:
        lines = asyncio.run(dead_letters(bridge, args.action, args.letter_ids, args.all))
    except DatabaseError as exc:
        raise DatabaseUnavailableError(str(exc)) from exc
    for line in lines:
        print(line)
    return EXIT_OK


def _notify(args: argparse.Namespace) -> int:
    path: Path = args.config
    text = _read(path)
    bridge_class = _bridge_class_for(args, text, str(path))
    config = _load(bridge_class, path, text)
    _configure_logging(config, args.debug)
    for file in args.file:
        if not file.is_file():
            raise CommandError(f"no file {file}")
    bridge = bridge_class(config)
    try:
        post = asyncio.run(notify_once(bridge, args.text, to=args.to, files=args.file, key=args.key))
    except NotifyError as exc:
        raise CommandError(str(exc)) from exc
    except DatabaseError as exc:
        raise DatabaseUnavailableError(str(exc)) from exc
    except UnauthorizedError as exc:
        raise AuthenticationError(f"{config.core.mattermost.url} refuses the bot token") from exc
    except (MattermostConnectionError, MalformedResponseError) as exc:
        raise ServerUnreachableError(
            f"cannot reach Mattermost at {config.core.mattermost.url}: {exc}"
        ) from exc
    print(f"sent: post {post.id}")
    return EXIT_OK
