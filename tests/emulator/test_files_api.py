"""Files: thumbnail, preview, public links and search."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import FormData

from mmbridge.testing.emulator import Emulator, EmulatorSettings
from mmbridge.testing.emulator.images import default_png

from .conftest import ClientFactory


async def _upload(http: aiohttp.ClientSession, channel_id: str, name: str, data: bytes, mime: str) -> str:
    form = FormData()
    form.add_field("channel_id", channel_id)
    form.add_field("files", data, filename=name, content_type=mime)
    async with http.post("/api/v4/files", data=form) as resp:
        assert resp.status == 201
        file_id: str = (await resp.json())["file_infos"][0]["id"]
    return file_id


async def _attach(http: aiohttp.ClientSession, channel_id: str, *file_ids: str) -> dict[str, Any]:
    async with http.post(
        "/api/v4/posts", json={"channel_id": channel_id, "message": "f", "file_ids": list(file_ids)}
    ) as resp:
        post: dict[str, Any] = await resp.json()
    return post


async def test_thumbnail_and_preview(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    image = await _upload(http, seed.channel_id, "pic.png", default_png(), "image/png")
    text = await _upload(http, seed.channel_id, "notes.txt", b"hello", "text/plain")
    async with http.get(f"/api/v4/files/{image}/info") as resp:
        info = await resp.json()
    assert (info["has_preview_image"], info["width"], info["height"]) == (True, 8, 8)
    for kind, error_id in (
        ("thumbnail", "api.file.get_file_thumbnail.no_thumbnail.app_error"),
        ("preview", "api.file.get_file_preview.no_preview.app_error"),
    ):
        async with http.get(f"/api/v4/files/{image}/{kind}") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("image/")
        async with http.get(f"/api/v4/files/{text}/{kind}") as resp:
            assert (resp.status, (await resp.json())["id"]) == (400, error_id)
        _, other = emulator.create_user(f"other{kind}")
        async with client(other).get(f"/api/v4/files/{image}/{kind}") as resp:
            assert (resp.status, (await resp.json())["id"]) == (403, "api.context.permissions.app_error")


async def test_public_link_disabled_by_default(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    file_id = await _upload(http, seed.channel_id, "a.txt", b"a", "text/plain")
    await _attach(http, seed.channel_id, file_id)
    async with http.get(f"/api/v4/files/{file_id}/link") as resp:
        assert (resp.status, (await resp.json())["id"]) == (
            403,
            "api.file.get_public_link.disabled.app_error",
        )
    async with (
        aiohttp.ClientSession(base_url=emulator.url) as anonymous,
        anonymous.get(f"/files/{file_id}/public", params={"h": "x"}) as resp,
    ):
        assert (resp.status, (await resp.json())["id"]) == (
            403,
            "api.file.get_public_link.disabled.app_error",
        )


async def test_public_link_and_public_file() -> None:
    emu = Emulator(EmulatorSettings(enable_public_link=True))
    await emu.start()
    try:
        seed = emu.seed
        async with aiohttp.ClientSession(
            base_url=emu.url, headers={"Authorization": f"Bearer {seed.token}"}
        ) as http:
            file_id = await _upload(http, seed.channel_id, "a.txt", b"public bytes", "text/plain")
            async with http.get(f"/api/v4/files/{file_id}/link") as resp:
                assert (resp.status, (await resp.json())["id"]) == (
                    400,
                    "api.file.get_public_link.no_post.app_error",
                )
            await _attach(http, seed.channel_id, file_id)
            async with http.get(f"/api/v4/files/{file_id}/link") as resp:
                link = (await resp.json())["link"]
        assert link.startswith(f"{emu.url}/files/{file_id}/public?h=")
        async with aiohttp.ClientSession() as anonymous:
            async with anonymous.get(link) as resp:
                assert resp.status == 200
                assert await resp.read() == b"public bytes"
            async with anonymous.get(f"{emu.url}/files/{file_id}/public", params={"h": "wrong"}) as resp:
                assert resp.status == 400
                assert resp.headers["Content-Type"].startswith("text/html")
    finally:
        await emu.stop()


async def test_team_file_search(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    report = await _upload(http, seed.channel_id, "quarterly-report.pdf", b"%PDF", "application/pdf")
    photo = await _upload(http, seed.channel_id, "holiday photo.png", default_png(), "image/png")
    unattached = await _upload(http, seed.channel_id, "report-draft.pdf", b"%PDF", "application/pdf")
    await _attach(http, seed.channel_id, report, photo)
    url = f"/api/v4/teams/{seed.team_id}/files/search"

    async def search(terms: str, **extra: Any) -> list[str]:
        async with http.post(url, json={"terms": terms, "is_or_search": False, **extra}) as resp:
            assert resp.status == 200
            body = await resp.json()
        assert set(body["file_infos"]) == set(body["order"])
        order: list[str] = body["order"]
        return order

    assert await search("report") == [report]
    assert await search("ext:png") == [photo]
    assert await search(f"in:{seed.channel_name} -ext:png") == [report]
    assert await search(f"from:{seed.username} holi*") == [photo]
    assert await search("report holiday") == []
    assert set(await search("report holiday", is_or_search=True)) == {report, photo}
    assert unattached not in await search("draft")
    async with http.post(url, json={"terms": ""}) as resp:
        assert (resp.status, (await resp.json())["id"]) == (400, "api.context.invalid_param.app_error")
    async with http.post(url, json={"terms": 5}) as resp:
        assert (await resp.json())["id"] == "api.post.search_files.invalid_body.app_error"
    other_team = emulator.state.add_team("other-team", "Other", "O", seed.admin_user_id)
    async with http.post(f"/api/v4/teams/{other_team.id}/files/search", json={"terms": "report"}) as resp:
        assert (resp.status, (await resp.json())["id"]) == (403, "api.context.permissions.app_error")


async def test_user_file_search_needs_the_feature_flag(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    file_id = await _upload(http, seed.channel_id, "doc.txt", b"d", "text/plain")
    await _attach(http, seed.channel_id, file_id)
    async with http.post("/api/v4/files/search", json={"terms": "doc"}) as resp:
        assert resp.status == 200
        assert await resp.read() == b""
    emu = Emulator(EmulatorSettings(feature_command_palette=True))
    await emu.start()
    try:
        headers = {"Authorization": f"Bearer {emu.seed.token}"}
        async with aiohttp.ClientSession(base_url=emu.url, headers=headers) as other:
            file_id = await _upload(other, emu.seed.channel_id, "doc.txt", b"d", "text/plain")
            await _attach(other, emu.seed.channel_id, file_id)
            async with other.post("/api/v4/files/search", json={"terms": "doc"}) as resp:
                assert (await resp.json())["order"] == [file_id]
    finally:
        await emu.stop()
