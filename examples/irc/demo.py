"""``make demo``: the IRC bridge as a daemon between the emulator and a real IRC server.

The demo starts the Mattermost emulator and ``miniircd`` (an IRC server from PyPI) on free
loopback ports, writes the bridge's registration and runs ``mmbridge run -c examples/irc/config.yaml``
as a process of its own, with the addresses, the bot's token and a temporary SQLite database given
by environment variables. Bob is on IRC (a scripted client on the ``irc`` library), Alice on
Mattermost. They talk both ways; a thread reply, an edit, a reaction, ``/me`` and a nick change
cross; then the bridge is restarted in relay mode. Each step is checked, and the demo ends with a
two-column transcript: what Bob saw on IRC, what Alice saw on Mattermost. It exits 0 only if every
step did what it should, and stops everything it started, also on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import attrs
import irc.client
import irc.client_aio

from examples.demokit import (
    WAIT,
    DemoFailed,
    Processes,
    columns,
    free_port,
    generate_registration,
    main,
    start_bridge,
    until,
)
from mmbridge.api import ClientAPI
from mmbridge.testing.emulator import Emulator
from mmbridge.types import ChannelID, PostID, UserID

CONFIG = "examples/irc/config.yaml"
CHANNEL = "#demo"  # bridged to ~bridge-test by the config


@attrs.define
class Heard:
    """One line Bob's IRC client saw."""

    at: float
    kind: str
    nick: str
    target: str
    text: str
    arguments: tuple[str, ...] = ()


class IRCPerson:
    """Bob on IRC: a client of the ``irc`` library, remembering what the server sent."""

    def __init__(self, nick: str) -> None:
        self.nick = nick
        self.heard: list[Heard] = []
        #: Called with (nick, text) for each channel message or action from someone else.
        self.on_message: Callable[[str, str], object] | None = None
        self._welcomed = asyncio.Event()
        self._reactor = irc.client_aio.AioReactor(loop=asyncio.get_running_loop())
        self._reactor.add_global_handler("all_events", self._on_event)
        self.connection = self._reactor.server()

    async def connect(self, port: int) -> None:
        await self.connection.connect("127.0.0.1", port, self.nick)
        await asyncio.wait_for(self._welcomed.wait(), WAIT)

    def _on_event(self, _connection: irc.client_aio.AioConnection, event: irc.client.Event) -> None:
        if event.type == "welcome":
            self._welcomed.set()
        source = event.source.nick if isinstance(event.source, irc.client.NickMask) else ""
        text = event.arguments[0] if event.arguments else ""
        self.heard.append(
            Heard(time.time(), event.type, source, event.target or "", text, tuple(event.arguments))
        )
        if self.on_message is not None and event.type in ("pubmsg", "action"):
            self.on_message(source, text)

    def say(self, text: str) -> None:
        self.connection.privmsg(CHANNEL, text)
        self.heard.append(Heard(time.time(), "pubmsg", self.connection.get_nickname(), CHANNEL, text))

    def act(self, text: str) -> None:
        self.connection.action(CHANNEL, text)
        self.heard.append(Heard(time.time(), "action", self.connection.get_nickname(), CHANNEL, text))

    def saw(self, kind: str, nick: str, text: str) -> bool:
        return any(h.kind == kind and h.nick == nick and text in h.text for h in self.heard)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.disconnect("demo over")


async def start_ircd(port: int, log: Path) -> asyncio.subprocess.Process:
    """``miniircd`` on ``127.0.0.1:port`` (its output to ``log``), once it accepts connections."""
    miniircd = shutil.which("miniircd", path=str(Path(sys.executable).parent)) or shutil.which("miniircd")
    if miniircd is None:
        raise DemoFailed("miniircd is not installed (make demo installs it)")
    as_root = ["--setuid", "root"] if os.geteuid() == 0 else []  # it refuses root unless told
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            miniircd, "--listen", "127.0.0.1", "--ports", str(port), *as_root, stdout=out, stderr=out
        )
    async with asyncio.timeout(WAIT):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if process.returncode is not None:
                    raise DemoFailed(f"miniircd exited with {process.returncode}") from None
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return process


async def _start_bridge(
    processes: Processes, registration: Path, port: int, out: Callable[[str], None], **env: str
) -> asyncio.subprocess.Process:
    bridge = await start_bridge(processes, CONFIG, registration, port, **env)
    mode = env.get("MMBRIDGE_IRC_MODE", "puppet")
    out(f"  ok  mmbridge run -c {CONFIG} is up and healthy (pid {bridge.pid}, {mode} mode)")
    return bridge


def _plain(text: str) -> str:
    """IRC text without its formatting codes (bold, italics, colours), for the transcript."""
    return re.sub(r"\x03\d{0,2}(,\d{1,2})?|[\x02\x0f\x16\x1d\x1f]", "", text)


def transcript(emulator: Emulator, channel_id: str, bob: IRCPerson, since: float) -> list[str]:
    """Both sides in time order: IRC on the left (Bob's client), Mattermost on the right."""
    state = emulator.state
    rows: list[tuple[float, str, str]] = []
    for line in bob.heard:
        if line.at < since or line.target.lower() != CHANNEL:
            continue
        if line.kind == "pubmsg":
            rows.append((line.at, f"<{line.nick}> {_plain(line.text)}", ""))
        elif line.kind == "action":
            rows.append((line.at, f"* {line.nick} {_plain(line.text)}", ""))
    for line in bob.heard:
        if line.kind == "nick" and line.at >= since:
            rows.append((line.at, f"-- {line.nick} is now {line.target}", ""))
    for post in state.posts.values():
        if post.channel_id != channel_id or post.type not in ("", "me") or post.create_at / 1000 < since:
            continue
        author = state.user(post.user_id)
        name = author.username + (f" ({author.nickname})" if author.nickname else "")
        thread = "↳ " if post.root_id else ""
        marks = " (edited)" if post.edit_at else ""
        reactions = state.reactions.get(post.id, [])
        marks += "".join(f" :{r.emoji_name}:" for r in reactions)
        rows.append((post.create_at / 1000, "", f"{thread}{name}: {post.message}{marks}"))
    return columns(f"IRC {CHANNEL} (what bob sees)", "Mattermost ~bridge-test", rows)


async def run(out: Callable[[str], None] = print, workdir: Path | None = None) -> None:
    """Run the whole scenario; raises :class:`DemoFailed` at the first step that goes wrong."""
    started = time.time() - 1
    emulator = Emulator()
    await emulator.start(host="127.0.0.1", port=0)
    seed = emulator.seed
    temporary = tempfile.TemporaryDirectory() if workdir is None else None
    folder = Path(temporary.name) if temporary is not None else workdir
    assert folder is not None
    irc_port, bridge_port = free_port(), free_port()
    _, bot_token = emulator.create_bridge_bot()
    env = dict(os.environ)
    env.update(
        MMBRIDGE_MATTERMOST_URL=str(emulator.url),
        MMBRIDGE_MATTERMOST_TOKEN=bot_token,
        MMBRIDGE_APPSERVICE_PORT=str(bridge_port),
        MMBRIDGE_DATABASE_URI=f"sqlite:///{folder / 'irc.db'}",
        MMBRIDGE_IRC_PORT=str(irc_port),
        MMBRIDGE_IRC_SEND_RATE="20",  # a demo need not wait for flood control
    )
    processes = Processes(folder, env)
    registration = folder / "registration.yaml"
    bob = None
    out(f"emulator on {emulator.url}, miniircd on 127.0.0.1:{irc_port}; workdir {folder}")
    try:
        processes.running.append(await start_ircd(irc_port, processes.log))
        out("  ok  miniircd (a real IRC server) is up")
        await generate_registration(processes, CONFIG, registration)
        out(f"  ok  mmbridge generate-registration -c {CONFIG}")
        bridge = await _start_bridge(processes, registration, bridge_port, out)

        bob = IRCPerson("bob")
        await bob.connect(irc_port)
        bob.connection.join(CHANNEL)
        await until("bob joins #demo on IRC", lambda: bob.saw("join", "bob", ""), out)
        await until("the bridge's relay bot is in #demo", lambda: "mmbridge" in _names(bob), out)
        channel = ChannelID(seed.channel_id)
        state = emulator.state

        def posted(text: str) -> list[str]:
            return [p.id for p in state.posts.values() if p.channel_id == channel and p.message == text]

        async with ClientAPI.connect(emulator.url, seed.token) as alice:
            out("\nIRC -> Mattermost")
            bob.say("Hello from \x02IRC\x02!")
            await until(
                "bob's line is posted by the puppet irc_bob, bold kept",
                lambda: [p for p in posted("Hello from **IRC**!") if state.posts[p].user_id != seed.user_id],
                out,
            )
            hello = posted("Hello from **IRC**!")[0]

            out("\nMattermost -> IRC (puppet mode: alice gets an IRC connection of her own)")
            await alice.posts.create(channel, "Hi bob, *welcome* to Mattermost")
            await until(
                "bob hears alice as alice[m], italics as IRC codes",
                lambda: bob.saw("pubmsg", "alice[m]", "Hi bob, \x1dwelcome\x1d"),
                out,
            )
            await alice.posts.create(channel, "a reply in bob's thread", root_id=PostID(hello))
            await until(
                "a thread reply is prefixed with bob's nick",
                lambda: bob.saw("pubmsg", "alice[m]", "bob: a reply in bob's thread"),
                out,
            )
            typo = await alice.posts.create(channel, "see you at 5")
            await until("bob hears it", lambda: bob.saw("pubmsg", "alice[m]", "see you at 5"), out)
            await alice.posts.edit(typo.id, "see you at 6")
            await until(
                "alice's edit is told the IRC way",
                lambda: bob.saw("action", "alice[m]", "meant: see you at 6"),
                out,
            )
            await alice.reactions.add(UserID(seed.user_id), PostID(hello), "thumbsup")
            await until(
                "alice's reaction on bob's line",
                lambda: bob.saw("action", "alice[m]", "reacted :thumbsup:"),
                out,
            )

            out("\n/me both ways")
            bob.act("waves")
            await until("bob's /me is an action post", lambda: posted("*waves*"), out)
            await emulator.type_message(seed.token, channel, "/me waves back")
            await until(
                "alice's /me is an IRC ACTION", lambda: bob.saw("action", "alice[m]", "waves back"), out
            )

            out("\nA nick change")
            puppet = state.posts[hello].user_id
            bob.connection.nick("robert")
            await until(
                "bob -> robert renames the puppet's display name (same puppet)",
                lambda: state.user(puppet).nickname == "robert",
                out,
            )
            bob.say("robert here, same person")
            await until(
                "robert's line comes from the same puppet",
                lambda: [p for p in posted("robert here, same person") if state.posts[p].user_id == puppet],
                out,
            )

            out("\nRestart in relay mode (one IRC connection for everyone)")
            code = await processes.stop(bridge)
            if code != 0:
                raise DemoFailed(f"the daemon exited with {code} on SIGTERM:\n{processes.tail()}")
            out("  ok  SIGTERM: the daemon sent what was queued and exited 0")
            bridge = await _start_bridge(processes, registration, bridge_port, out, MMBRIDGE_IRC_MODE="relay")
            await until("the relay bot is back in #demo", lambda: bob.saw("join", "mmbridge", ""), out)
            await alice.posts.create(channel, "now through the relay bot")
            await until(
                "bob hears <alice> through the relay bot",
                lambda: bob.saw("pubmsg", "mmbridge", "<alice> now through the relay bot"),
                out,
            )
            bob.say("and the puppet still posts for me")
            await until(
                "IRC -> Mattermost still goes through the puppet",
                lambda: [
                    p for p in posted("and the puppet still posts for me") if state.posts[p].user_id == puppet
                ],
                out,
            )

            await asyncio.sleep(0.5)  # anything doubled or echoed would show by now
            doubled = [
                text
                for text in ("Hello from **IRC**!", "*waves*", "robert here, same person")
                if len(posted(text)) != 1
            ]
            if doubled:
                raise DemoFailed(f"posted more than once: {doubled}")
            echoes = [
                h for h in bob.heard if h.kind == "pubmsg" and "Hello from" in h.text and h.nick != "bob"
            ]
            if echoes:
                raise DemoFailed(f"bob's own line came back to IRC: {echoes}")
            out("  ok  nothing doubled, nothing echoed back")

        code = await processes.stop(bridge)
        if code != 0:
            raise DemoFailed(f"the daemon exited with {code} on SIGTERM:\n{processes.tail()}")
        out("  ok  SIGTERM again: exit 0\n")
        for line in transcript(emulator, channel, bob, started):
            out(line)
    finally:
        if bob is not None:
            bob.close()
        await processes.stop_all()
        await emulator.stop()
        if temporary is not None:
            temporary.cleanup()


def _names(bob: IRCPerson) -> set[str]:
    """The nicks bob has seen in #demo (names list and joins)."""
    names: set[str] = set()
    for line in bob.heard:
        if line.kind == "namreply" and len(line.arguments) >= 3:
            names.update(name.lstrip("@+") for name in line.arguments[2].split())
        elif line.kind == "join":
            names.add(line.nick)
    return names


if __name__ == "__main__":
    main(run)
