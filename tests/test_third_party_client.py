"""A third-party client, unchanged, works against the emulator: mattermostdriver from PyPI."""

from __future__ import annotations

import asyncio
from typing import Any

from mattermostdriver import Driver

from mmbridge.testing.emulator import Emulator


def driver_session(url: str, port: int, token: str, channel_id: str, other_user_id: str) -> dict[str, Any]:
    """What a bot written with mattermostdriver does, run in a worker thread."""
    driver = Driver(
        {"url": url, "port": port, "scheme": "http", "token": token, "verify": False, "timeout": 10}
    )
    me = driver.login()
    created = driver.posts.create_post(options={"channel_id": channel_id, "message": "hi from driver"})
    fetched = driver.posts.get_post(created["id"])
    dm = driver.channels.create_direct_message_channel(options=[me["id"], other_user_id])
    upload = driver.files.upload_file(channel_id=channel_id, files={"files": ("a.txt", b"driver file")})
    file_id = upload["file_infos"][0]["id"]
    with_file = driver.posts.create_post(
        options={"channel_id": channel_id, "message": "with file", "file_ids": [file_id]}
    )
    downloaded = driver.files.get_file(file_id).content
    return {
        "me": me,
        "created": created,
        "fetched": fetched,
        "dm": dm,
        "file_id": file_id,
        "with_file": with_file,
        "downloaded": downloaded,
    }


async def test_mattermostdriver_works_unchanged(emulator: Emulator) -> None:
    seed = emulator.seed
    assert emulator.url.host is not None
    assert emulator.url.port is not None
    result = await asyncio.to_thread(
        driver_session, emulator.url.host, emulator.url.port, seed.token, seed.channel_id, seed.admin_user_id
    )
    assert result["me"]["id"] == seed.user_id
    assert result["me"]["username"] == seed.username
    assert result["created"]["message"] == "hi from driver"
    assert result["fetched"]["id"] == result["created"]["id"]
    assert result["dm"]["type"] == "D"
    assert result["dm"]["name"] == "__".join(sorted([seed.user_id, seed.admin_user_id]))
    assert result["with_file"]["file_ids"] == [result["file_id"]]
    assert result["downloaded"] == b"driver file"
    stored = emulator.state.posts[result["created"]["id"]]
    assert stored.user_id == seed.user_id
