"""``python -m mmbridge.testing.emulator``: run the emulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from .app import Emulator
from .settings import EmulatorSettings, RateLimitSettings


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
    return parser


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


async def _serve(host: str, port: int, rate_limit: RateLimitSettings | None) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=rate_limit))
    await emu.start(host, port)
    print(_banner(emu), flush=True)
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
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.rate_limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
