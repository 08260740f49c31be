"""``python -m mmbridge.testing.emulator``: run the emulator until Ctrl-C or SIGTERM.

With the default ``--seed`` the accounts, ids and tokens are the same on every start, so a config
written once keeps working; ``--print-config config.yaml`` writes one for a bridge, whose bot
(``mmbridge-bot``, a system admin bot) has the rights a bridge needs.

``--faults-api`` serves the fault-injection admin API under ``/__emulator__/faults`` (off by
default), so a bridge running as its own process can be tested under faults; with a token
(``--faults-api-token`` or ``$MMBRIDGE_EMULATOR_FAULTS_TOKEN``) it answers only requests with
``Authorization: Bearer <token>``. Never expose it publicly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import os
import signal
import sys
from pathlib import Path

from .app import Emulator
from .faults_api import FAULTS_API_PREFIX, TOKEN_ENV
from .settings import EmulatorSettings, RateLimitSettings

DEFAULT_SEED = 1
BRIDGE_BOT = "mmbridge-bot"


def _rate_limit(value: str) -> RateLimitSettings:
    per_sec, _, burst = value.partition(":")
    try:
        return RateLimitSettings(per_sec=int(per_sec), max_burst=int(burst or "100"))
    except ValueError:
        raise argparse.ArgumentTypeError("expected PER_SEC:BURST, e.g. 10:100") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mmbridge.testing.emulator",
        description="An in-memory Mattermost REST API v4 emulator for tests.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8065)
    parser.add_argument("--rate-limit", type=_rate_limit, default=None, metavar="PER_SEC:BURST")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"seed of ids and tokens (default {DEFAULT_SEED})"
    )
    parser.add_argument("--random", action="store_true", help="random ids and tokens instead of seeded ones")
    parser.add_argument(
        "--print-config",
        type=Path,
        default=None,
        metavar="FILE",
        help="write a config.yaml for a bridge against this emulator ('-': standard output)",
    )
    parser.add_argument(
        "--faults-api",
        action="store_true",
        help=f"serve the fault-injection admin API under {FAULTS_API_PREFIX} (never expose it publicly)",
    )
    parser.add_argument(
        "--faults-api-token",
        default=None,
        metavar="TOKEN",
        help=f"require 'Authorization: Bearer TOKEN' on the faults API (default: ${TOKEN_ENV})",
    )
    return parser


def _faults_token(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """The faults API's token: the flag, else the environment (an empty variable: none)."""
    if args.faults_api_token is not None:
        if not args.faults_api:
            parser.error("--faults-api-token needs --faults-api")
        if not args.faults_api_token:
            parser.error("--faults-api-token must not be empty")
        token: str = args.faults_api_token
        return token
    if not args.faults_api:
        return None
    return os.environ.get(TOKEN_ENV) or None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _faults_banner(emu: Emulator, token: str | None) -> str:
    """What the banner says of the faults API (never the token itself)."""
    access = "Bearer token required" if token else "no token"
    return f"  faults  {emu.url}{FAULTS_API_PREFIX} (fault-injection admin API, {access})"


def _banner(emu: Emulator) -> str:
    seed = emu.seed
    return "\n".join(
        [
            f"Mattermost emulator listening on {emu.url}",
            "Throwaway test credentials (in-memory, gone on exit):",
            f"  admin   {seed.admin_username:<10} id={seed.admin_user_id} token={seed.admin_token}",
            f"  bot     {seed.bot_username:<10} id={seed.bot_user_id} token={seed.bot_token}",
            f"  user    {seed.username:<10} id={seed.user_id} token={seed.token}",
            f"  password of admin and user: {seed.password}",
            f"  team    {seed.team_name:<10} id={seed.team_id}",
            f"  channel {seed.channel_name:<10} id={seed.channel_id}",
        ]
    )


def _write_private(path: Path, text: str) -> None:
    """Write a new file readable by its owner only (it holds a token)."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as file:
        file.write(text)


def bridge_config(url: str, token: str, team: str, seed: int | None) -> str:
    """A minimal bridge config against the emulator (``mmbridge run`` adds the other keys)."""
    seeded = f"seed {seed}: the same token on every start" if seed is not None else "random tokens"
    return (
        f"# A bridge config for the mmbridge emulator at {url} ({seeded}).\n"
        "# `mmbridge run` adds every other key, with its comment, when it first starts.\n"
        "mattermost:\n"
        f"  url: {url}\n"
        f"  # The emulator's {BRIDGE_BOT}: a bot with the system admin role, as a bridge needs.\n"
        f"  token: {token}\n"
        f"  team: {team}\n"
        "appservice:\n"
        "  id: mybridge\n"
        "puppets:\n"
        "  username_template: mybridge_{localpart}\n"
    )


class CannotListenError(Exception):
    """The emulator's address is not free (another emulator, a Mattermost server) or not allowed."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(host, port, reason)
        self.host, self.port, self.reason = host, port, reason


async def _serve(
    host: str,
    port: int,
    rate_limit: RateLimitSettings | None,
    seed: int | None,
    config_path: Path | None,
    *,
    faults_api: bool = False,
    faults_token: str | None = None,
) -> None:
    emu = Emulator(
        EmulatorSettings(rate_limit=rate_limit, seed=seed),
        faults_api=faults_api,
        faults_api_token=faults_token,
    )
    try:
        await emu.start(host, port)
    except OSError as exc:
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        raise CannotListenError(host, port, reason) from None
    _, bot_token = emu.create_bridge_bot(BRIDGE_BOT)
    banner = sys.stdout
    if config_path is not None:
        text = bridge_config(str(emu.url), bot_token, emu.seed.team_name, seed)
        if str(config_path) == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
            banner = sys.stderr
        else:
            await asyncio.to_thread(_write_private, config_path, text)
            print(f"wrote {config_path}: a bridge config for this emulator", flush=True)
    print(_banner(emu), file=banner, flush=True)
    print(
        f"  bridge  {BRIDGE_BOT:<10} token={bot_token} (system admin bot, for bridges)",
        file=banner,
        flush=True,
    )
    if faults_api:
        print(_faults_banner(emu, faults_token), file=banner, flush=True)
        if faults_token is None and not _is_loopback(host):
            print(
                f"WARNING: the faults API is reachable on {host} without a token: never expose it",
                file=sys.stderr,
                flush=True,
            )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mmbridge-emulator`` script."""
    parser = _parser()
    args = parser.parse_args(argv)
    faults_token = _faults_token(parser, args)
    if args.print_config is not None and str(args.print_config) != "-" and args.print_config.exists():
        print(f"{args.print_config} exists: not replacing it", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        seed = None if args.random else args.seed
        try:
            asyncio.run(
                _serve(
                    args.host,
                    args.port,
                    args.rate_limit,
                    seed,
                    args.print_config,
                    faults_api=args.faults_api,
                    faults_token=faults_token,
                )
            )
        except CannotListenError as exc:
            print(f"cannot listen on {exc.host}:{exc.port}: {exc.reason}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
