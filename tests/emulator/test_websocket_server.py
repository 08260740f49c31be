"""The emulator's WebSocket endpoint, driven with aiohttp's own client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType, WSServerHandshakeError

from mmbridge.testing.emulator import Broadcast, Emulator, EmulatorSettings

from .conftest import ClientFactory

WS = "/api/v4/websocket"
QUICK = 2.0


async def recv(ws: ClientWebSocketResponse, wait: float = QUICK) -> dict[str, Any]:
    """The next frame as JSON."""
    msg = await ws.receive(wait)
    assert msg.type == WSMsgType.TEXT, msg
    value = json.loads(msg.data)
    assert isinstance(value, dict)
    return value


async def recv_text(ws: ClientWebSocketResponse, wait: float = QUICK) -> str:
    msg = await ws.receive(wait)
    assert msg.type == WSMsgType.TEXT, msg
    assert isinstance(msg.data, str)
    return msg.data


async def nothing(ws: ClientWebSocketResponse, wait: float = 0.15) -> None:
    """Nothing arrives within ``wait`` seconds."""
    try:
        msg = await ws.receive(wait)
    except TimeoutError:
        return
    pytest.fail(f"unexpected frame {msg}")


async def closed(ws: ClientWebSocketResponse, wait: float = QUICK) -> None:
    """The server ends the socket (with or without a close frame)."""
    msg = await ws.receive(wait)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR), msg


async def connect(client: ClientFactory, token: str | None, **params: str | int) -> ClientWebSocketResponse:
    http = client(token)
    return await http.ws_connect(WS, params={k: str(v) for k, v in params.items()}, autoping=True)


async def hello(
    client: ClientFactory, token: str, **params: str | int
) -> tuple[ClientWebSocketResponse, str]:
    """Connect with header auth; returns the socket and the hello's connection id."""
    ws = await connect(client, token, **params)
    frame = await recv(ws)
    assert frame["event"] == "hello"
    return ws, frame["data"]["connection_id"]


def poke(emulator: Emulator, user_id: str, n: int) -> None:
    """Publish ``n`` user-scoped events."""
    for i in range(n):
        emulator.events.publish("custom_poke", {"n": i}, Broadcast(user_id=user_id))


async def test_header_auth_gets_hello_with_seq_0(emulator: Emulator, client: ClientFactory) -> None:
    ws = await connect(client, emulator.seed.bot_token)
    frame = await recv(ws)
    assert frame == {
        "event": "hello",
        "data": {
            "connection_id": frame["data"]["connection_id"],
            "server_version": emulator.settings.version_header,
        },
        "broadcast": {
            "omit_users": None,
            "user_id": emulator.seed.bot_user_id,
            "channel_id": "",
            "team_id": "",
            "connection_id": "",
            "omit_connection_id": "",
        },
        "seq": 0,
    }
    assert len(frame["data"]["connection_id"]) == 26
    [info] = emulator.websocket_connections()
    assert (info.connection_id, info.user_id, info.active, info.next_seq) == (
        frame["data"]["connection_id"],
        emulator.seed.bot_user_id,
        True,
        1,
    )
    [record] = [r for r in emulator.requests if r.path == WS]
    assert (record.status, record.route, record.user_id) == (101, None, emulator.seed.bot_user_id)
    await ws.close()
    await asyncio.sleep(0.05)
    assert [c.active for c in emulator.websocket_connections()] == [False]


async def test_cookie_auth_and_trailing_slash(emulator: Emulator, client: ClientFactory) -> None:
    http = client(None)
    http.cookie_jar.update_cookies({"MMAUTHTOKEN": emulator.seed.token})
    ws = await http.ws_connect(WS + "/")
    frame = await recv(ws)
    assert frame["event"] == "hello"
    assert frame["broadcast"]["user_id"] == emulator.seed.user_id


async def test_challenge_auth(emulator: Emulator, client: ClientFactory) -> None:
    ws = await connect(client, None)
    await nothing(ws)  # no hello before authentication
    await ws.send_json({"seq": 1, "action": "ping"})
    fail = await recv(ws)
    assert fail["status"] == "FAIL"
    assert fail["seq_reply"] == 1
    assert fail["error"]["id"] == "api.web_socket_router.not_authenticated.app_error"
    assert fail["error"]["status_code"] == 401
    await ws.send_json(
        {"seq": 2, "action": "authentication_challenge", "data": {"token": emulator.seed.token}}
    )
    # As on the real server, registering queues the hello before the challenge's reply.
    first, second = await recv(ws), await recv(ws)
    assert first["event"] == "hello"
    assert first["seq"] == 0
    assert first["broadcast"]["user_id"] == emulator.seed.user_id
    assert second == {"status": "OK", "seq_reply": 2}
    # A second challenge is ignored.
    await ws.send_json({"seq": 3, "action": "authentication_challenge", "data": {"token": "x"}})
    await ws.send_json({"seq": 4, "action": "ping"})
    assert (await recv(ws))["seq_reply"] == 4


async def test_a_bad_challenge_token_closes_the_socket(emulator: Emulator, client: ClientFactory) -> None:
    ws = await connect(client, None)
    await ws.send_json({"seq": 1, "action": "authentication_challenge", "data": {"token": "nope"}})
    await closed(ws)


@pytest.mark.parametrize("emulator_settings", [EmulatorSettings(ws_auth_timeout=0.2)])
async def test_an_unauthenticated_socket_is_closed_after_the_auth_timeout(
    emulator: Emulator, client: ClientFactory
) -> None:
    ws = await connect(client, None)
    await closed(ws, wait=1.0)


@pytest.mark.parametrize("emulator_settings", [EmulatorSettings(ws_auth_timeout=0.2)])
async def test_a_bad_header_token_upgrades_then_closes_as_the_real_server_does(
    emulator: Emulator, client: ClientFactory
) -> None:
    ws = await connect(client, "not-a-valid-token")
    await closed(ws, wait=1.0)


@pytest.mark.parametrize("emulator_settings", [EmulatorSettings(ws_reject_invalid_token=True)])
async def test_a_bad_token_can_be_refused_before_the_upgrade(
    emulator: Emulator, client: ClientFactory
) -> None:
    with pytest.raises(WSServerHandshakeError) as info:
        await connect(client, "not-a-valid-token")
    assert info.value.status == 401
    [record] = [r for r in emulator.requests if r.path == WS]
    assert record.status == 401
    assert record.route is None
    assert json.loads(record.body)["id"] == "api.context.session_expired.app_error"


async def test_posted_reaches_members_and_never_a_non_member(
    emulator: Emulator, client: ClientFactory
) -> None:
    seed = emulator.seed
    admin_http = client(seed.admin_token)
    async with admin_http.post(
        "/api/v4/channels",
        json={"team_id": seed.team_id, "name": "secret", "display_name": "Secret", "type": "P"},
    ) as resp:
        assert resp.status == 201
        secret = (await resp.json())["id"]
    admin_ws, _ = await hello(client, seed.admin_token)
    alice_ws, _ = await hello(client, seed.token)
    for channel, text in ((secret, "private words"), (seed.channel_id, "public marker")):
        async with admin_http.post("/api/v4/posts", json={"channel_id": channel, "message": text}) as resp:
            assert resp.status == 201
    # The author gets its own posts, private one included.
    got = [await recv(admin_ws), await recv(admin_ws)]
    assert [json.loads(f["data"]["post"])["message"] for f in got] == ["private words", "public marker"]
    assert [f["seq"] for f in got] == [1, 2]
    assert got[0]["broadcast"]["channel_id"] == secret
    assert got[0]["broadcast"]["omit_users"] is None
    # Alice only sees the public one.
    frame = await recv(alice_ws)
    assert frame["event"] == "posted"
    assert frame["seq"] == 1
    assert json.loads(frame["data"]["post"])["message"] == "public marker"
    await nothing(alice_ws)


async def test_user_removed_goes_to_the_remaining_members_and_the_removed_user(
    emulator: Emulator, client: ClientFactory
) -> None:
    seed = emulator.seed
    alice_id = seed.user_id
    admin_ws, _ = await hello(client, seed.admin_token)
    alice_ws, _ = await hello(client, seed.token)
    async with client(seed.admin_token).delete(
        f"/api/v4/channels/{seed.channel_id}/members/{alice_id}"
    ) as resp:
        assert resp.status == 200
    alice_events = []
    while frame := await asyncio.wait_for(recv(alice_ws), QUICK):
        alice_events.append(frame)
        if frame["event"] == "user_removed":
            break
    assert frame["broadcast"]["user_id"] == alice_id
    assert frame["data"] == {"channel_id": seed.channel_id, "remover_id": seed.admin_user_id}
    await nothing(alice_ws)  # not the channel-wide one, nor the system post
    admin_events = [await recv(admin_ws), await recv(admin_ws)]
    removed = [f for f in admin_events if f["event"] == "user_removed"]
    assert [f["broadcast"]["channel_id"] for f in removed] == [seed.channel_id]
    assert removed[0]["data"] == {"remover_id": seed.admin_user_id, "user_id": alice_id}


async def test_user_typing_reaches_others_but_not_the_typer(
    emulator: Emulator, client: ClientFactory
) -> None:
    seed = emulator.seed
    typer, _ = await hello(client, seed.token)
    other, _ = await hello(client, seed.admin_token)
    await typer.send_json(
        {"seq": 1, "action": "user_typing", "data": {"channel_id": seed.channel_id, "parent_id": ""}}
    )
    assert await recv(typer) == {"status": "OK", "seq_reply": 1}
    frame = await recv(other)
    assert frame["event"] == "typing"
    assert frame["data"] == {"parent_id": "", "user_id": seed.user_id}
    assert frame["broadcast"]["omit_users"] == {seed.user_id: True}
    assert frame["broadcast"]["channel_id"] == seed.channel_id
    await nothing(typer)
    await typer.send_json({"seq": 2, "action": "user_typing", "data": {"channel_id": "bad"}})
    fail = await recv(typer)
    assert fail["status"] == "FAIL"
    assert fail["error"]["id"] == "api.websocket_handler.invalid_param.app_error"


async def test_ping_statuses_and_router_errors(emulator: Emulator, client: ClientFactory) -> None:
    ws, _ = await hello(client, emulator.seed.bot_token)
    await ws.send_json({"seq": 1, "action": "ping"})
    pong = await recv(ws)
    assert set(pong) == {"status", "seq_reply", "data"}
    assert pong["status"] == "OK"
    assert pong["seq_reply"] == 1
    assert pong["data"]["text"] == "pong"
    assert pong["data"]["version"] == emulator.settings.version
    assert isinstance(pong["data"]["server_time"], int)
    await ws.send_json(
        {
            "seq": 2,
            "action": "get_statuses_by_ids",
            "data": {"user_ids": [emulator.seed.bot_user_id, emulator.seed.user_id]},
        }
    )
    assert (await recv(ws))["data"] == {emulator.seed.bot_user_id: "online", emulator.seed.user_id: "offline"}
    await ws.send_json({"seq": 3, "action": "no_such_action"})
    bad = await recv(ws)
    assert bad["status"] == "FAIL"
    assert bad["seq_reply"] == 3
    assert bad["error"]["id"] == "api.web_socket_router.bad_action.app_error"
    await ws.send_json({"seq": 0, "action": "ping"})
    bad = await recv(ws)
    assert "seq_reply" not in bad
    assert "seq" not in bad
    assert bad["error"]["id"] == "api.web_socket_router.bad_seq.app_error"
    await ws.send_json({"seq": -4, "action": "ping"})
    assert (await recv(ws))["error"]["id"] == "api.web_socket_router.bad_seq.app_error"
    await ws.send_str("this is not JSON")  # the real server closes on a decode error
    await closed(ws)


async def test_resume_replays_the_missed_events_without_hello(
    emulator: Emulator, client: ClientFactory
) -> None:
    user = emulator.seed.bot_user_id
    ws, conn_id = await hello(client, emulator.seed.bot_token)
    poke(emulator, user, 3)
    frames = [await recv_text(ws) for _ in range(3)]
    assert [json.loads(f)["seq"] for f in frames] == [1, 2, 3]
    emulator.faults.ws_drop(user)
    await closed(ws)
    poke(emulator, user, 2)  # while disconnected
    [info] = emulator.websocket_connections()
    assert not info.active
    assert info.queued == 2
    # The client got seq 1 only: 2 and 3 come from the dead queue, 4 and 5 from the send queue.
    ws2 = await connect(client, emulator.seed.bot_token, connection_id=conn_id, sequence_number=2)
    replayed = [await recv_text(ws2) for _ in range(4)]
    assert replayed[:2] == frames[1:]
    assert [json.loads(f)["seq"] for f in replayed] == [2, 3, 4, 5]
    assert [json.loads(f)["data"]["n"] for f in replayed] == [1, 2, 0, 1]
    poke(emulator, user, 1)
    assert (await recv(ws2))["seq"] == 6
    [info] = emulator.websocket_connections()
    assert (info.connection_id, info.active, info.next_seq) == (conn_id, True, 7)


async def test_resume_with_nothing_missed_sends_nothing(emulator: Emulator, client: ClientFactory) -> None:
    user = emulator.seed.bot_user_id
    ws, conn_id = await hello(client, emulator.seed.bot_token)
    poke(emulator, user, 2)
    assert (await recv(ws))["seq"] == 1
    assert (await recv(ws))["seq"] == 2
    await ws.close()
    ws2 = await connect(client, emulator.seed.bot_token, connection_id=conn_id, sequence_number=3)
    await nothing(ws2)
    poke(emulator, user, 1)
    assert (await recv(ws2))["seq"] == 3


async def test_resume_after_lost_replay_state_gets_a_new_hello(
    emulator: Emulator, client: ClientFactory
) -> None:
    user = emulator.seed.bot_user_id
    ws, conn_id = await hello(client, emulator.seed.bot_token)
    emulator.faults.ws_lose_replay(user)
    emulator.faults.ws_drop(user)
    await closed(ws)
    assert emulator.websocket_connections() == []
    ws2 = await connect(client, emulator.seed.bot_token, connection_id=conn_id, sequence_number=1)
    frame = await recv(ws2)
    assert frame["event"] == "hello"
    assert frame["seq"] == 0
    assert frame["data"]["connection_id"] != conn_id


async def test_an_unknown_connection_id_gets_a_fresh_connection(
    emulator: Emulator, client: ClientFactory
) -> None:
    ws = await connect(client, emulator.seed.bot_token, connection_id="a" * 26, sequence_number=5)
    frame = await recv(ws)
    assert frame["event"] == "hello"
    assert frame["seq"] == 0
    assert frame["data"]["connection_id"] != "a" * 26


async def test_overflow_while_disconnected_loses_the_connection(
    emulator: Emulator, client: ClientFactory
) -> None:
    user = emulator.seed.bot_user_id
    ws, conn_id = await hello(client, emulator.seed.bot_token)
    await ws.close()
    poke(emulator, user, 256)
    assert [c.queued for c in emulator.websocket_connections()] == [256]
    poke(emulator, user, 1)  # one too many: the hub drops the connection
    assert emulator.websocket_connections() == []
    ws2 = await connect(client, emulator.seed.bot_token, connection_id=conn_id, sequence_number=1)
    frame = await recv(ws2)
    assert frame["event"] == "hello"
    assert frame["seq"] == 0
    assert frame["data"]["connection_id"] != conn_id
    await nothing(ws2)


async def test_events_evicted_from_the_dead_queue_reset_the_connection(
    emulator: Emulator, client: ClientFactory
) -> None:
    user = emulator.seed.bot_user_id
    ws, conn_id = await hello(client, emulator.seed.bot_token)
    poke(emulator, user, 130)
    for _ in range(130):
        await recv(ws)
    await ws.close()
    poke(emulator, user, 1)
    # seq 1 and 2 were evicted (the dead queue holds 128): a new id, seq 0 and a hello, then
    # the queued event with seq 1.
    ws2 = await connect(client, emulator.seed.bot_token, connection_id=conn_id, sequence_number=1)
    frame = await recv(ws2)
    assert frame["event"] == "hello"
    assert frame["seq"] == 0
    new_id = frame["data"]["connection_id"]
    assert new_id != conn_id
    queued = await recv(ws2)
    assert (queued["event"], queued["seq"], queued["data"]) == ("custom_poke", 1, {"n": 0})
    assert [c.connection_id for c in emulator.websocket_connections()] == [new_id]


async def test_bad_resume_parameters_close_the_socket(emulator: Emulator, client: ClientFactory) -> None:
    ws, conn_id = await hello(client, emulator.seed.bot_token)
    await ws.close()
    for params in (
        {"connection_id": conn_id},
        {"connection_id": conn_id, "sequence_number": "-1"},
        {"connection_id": conn_id, "sequence_number": "x"},
        {"connection_id": "not-an-id", "sequence_number": "1"},
    ):
        bad = await connect(client, emulator.seed.bot_token, **params)
        await closed(bad)
    # The retained connection is still there.
    assert [c.connection_id for c in emulator.websocket_connections()] == [conn_id]


async def test_a_resume_takes_over_a_live_socket(emulator: Emulator, client: ClientFactory) -> None:
    user = emulator.seed.bot_user_id
    ws, conn_id = await hello(client, emulator.seed.bot_token)
    ws2 = await connect(client, emulator.seed.bot_token, connection_id=conn_id, sequence_number=1)
    await closed(ws)
    poke(emulator, user, 1)
    assert (await recv(ws2))["seq"] == 1
    assert [(c.connection_id, c.active) for c in emulator.websocket_connections()] == [(conn_id, True)]


async def test_ws_drop_after_closes_mid_burst(emulator: Emulator, client: ClientFactory) -> None:
    user = emulator.seed.bot_user_id
    ws, conn_id = await hello(client, emulator.seed.bot_token)
    emulator.faults.ws_drop_after(3, user_id=user)
    poke(emulator, user, 5)
    got = [(await recv(ws))["seq"] for _ in range(3)]
    assert got == [1, 2, 3]
    await closed(ws)
    ws2 = await connect(client, emulator.seed.bot_token, connection_id=conn_id, sequence_number=4)
    assert [(await recv(ws2))["seq"] for _ in range(2)] == [4, 5]


async def test_ws_stall_holds_events_back(emulator: Emulator, client: ClientFactory) -> None:
    user = emulator.seed.bot_user_id
    ws, _ = await hello(client, emulator.seed.bot_token)
    emulator.faults.ws_stall(0.3, user_id=user)
    poke(emulator, user, 3)
    await nothing(ws, 0.15)
    assert [(await recv(ws))["seq"] for _ in range(3)] == [1, 2, 3]


async def test_ws_send_raw_and_user_scoping_of_faults(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    bot_ws, _ = await hello(client, seed.bot_token)
    user_ws, _ = await hello(client, seed.token)
    emulator.faults.ws_send_raw("{this is not json", user_id=seed.bot_user_id)
    poke(emulator, seed.bot_user_id, 1)
    assert await recv_text(bot_ws) == "{this is not json"
    assert (await recv(bot_ws))["seq"] == 1  # a raw frame takes no seq
    await nothing(user_ws)
    emulator.faults.ws_drop(user_id=seed.user_id)
    await closed(user_ws)
    emulator.faults.ws_send_raw("[1]")
    assert await recv_text(bot_ws) == "[1]"
    actives = {c.user_id: c.active for c in emulator.websocket_connections()}
    assert actives == {seed.bot_user_id: True, seed.user_id: False}


async def test_publishing_is_fast_enough(emulator: Emulator, client: ClientFactory) -> None:
    """A sanity floor, far below what the hub does: 2,000 events reach one consumer quickly."""
    user = emulator.seed.bot_user_id
    ws, _ = await hello(client, emulator.seed.bot_token)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for batch in range(20):
        poke(emulator, user, 100)
        await asyncio.sleep(0)
        assert batch >= 0
    seqs = [(await recv(ws))["seq"] for _ in range(2000)]
    assert seqs == list(range(1, 2001))
    assert loop.time() - start < 2.0


async def test_stop_closes_sockets_cleanly(emulator: Emulator, client: ClientFactory) -> None:
    ws, _ = await hello(client, emulator.seed.bot_token)
    await emulator.stop()
    msg = await ws.receive(QUICK)
    assert msg.type == WSMsgType.CLOSE
    assert msg.data == 1001
    assert emulator.websocket_connections() == []


async def test_leave_team_reaches_the_team_and_the_leaving_user(
    emulator: Emulator, client: ClientFactory
) -> None:
    seed = emulator.seed
    admin_ws, _ = await hello(client, seed.admin_token)
    alice_ws, _ = await hello(client, seed.token)
    async with client(seed.admin_token).delete(
        f"/api/v4/teams/{seed.team_id}/members/{seed.user_id}"
    ) as resp:
        assert resp.status == 200
    mine = await recv(alice_ws)
    assert (mine["event"], mine["broadcast"]["user_id"]) == ("leave_team", seed.user_id)
    assert mine["data"] == {"team_id": seed.team_id, "user_id": seed.user_id}
    theirs = await recv(admin_ws)
    assert theirs["event"] == "leave_team"
    assert theirs["broadcast"]["team_id"] == seed.team_id
    assert theirs["broadcast"]["omit_users"] == {seed.user_id: True}


@pytest.mark.parametrize("emulator_settings", [EmulatorSettings(ws_ping_interval=0.1)])
async def test_the_server_sends_ping_frames(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.bot_token)
    ws = await http.ws_connect(WS, autoping=False)
    assert (await recv(ws))["event"] == "hello"
    msg = await ws.receive(1.0)
    assert msg.type == WSMsgType.PING
    await ws.pong(msg.data)


@pytest.mark.parametrize("emulator_settings", [EmulatorSettings(ws_resume_ttl=0.1)])
async def test_a_connection_expires_after_the_resume_ttl(emulator: Emulator, client: ClientFactory) -> None:
    ws, conn_id = await hello(client, emulator.seed.bot_token)
    await ws.close()
    await asyncio.sleep(0.2)
    assert emulator.websocket_connections() == []
    ws2 = await connect(client, emulator.seed.bot_token, connection_id=conn_id, sequence_number=1)
    frame = await recv(ws2)
    assert frame["event"] == "hello"
    assert frame["data"]["connection_id"] != conn_id


async def test_a_revoked_token_stops_delivery(emulator: Emulator, client: ClientFactory) -> None:
    user_id, token = emulator.create_user("carol")
    ws, _ = await hello(client, token)
    [token_id] = [t.id for t in emulator.state.tokens.values() if t.token == token]
    emulator.state.revoke_token(token_id)
    poke(emulator, user_id, 1)
    await nothing(ws)
    await ws.send_json({"seq": 1, "action": "ping"})
    fail = await recv(ws)
    assert fail["status"] == "FAIL"
    assert fail["error"]["status_code"] == 401
