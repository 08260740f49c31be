"""File upload and download."""

from __future__ import annotations

from aiohttp import FormData

from mmbridge.testing.emulator import Emulator, EmulatorSettings

from .conftest import ClientFactory


async def test_multipart_upload_attach_download(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    form = FormData()
    form.add_field("channel_id", seed.channel_id)
    form.add_field("client_ids", "c1")
    form.add_field("files", b"hello world", filename="hello.txt", content_type="text/plain")
    async with http.post("/api/v4/files", data=form) as resp:
        assert resp.status == 201
        body = await resp.json()
    info = body["file_infos"][0]
    assert body["client_ids"] == ["c1"]
    assert (info["name"], info["extension"], info["size"]) == ("hello.txt", "txt", 11)
    post = {"channel_id": seed.channel_id, "message": "file", "file_ids": [info["id"], info["id"]]}
    async with http.post("/api/v4/posts", json=post) as resp:
        created = await resp.json()
        assert created["file_ids"] == [info["id"]]
        assert created["metadata"]["files"][0]["post_id"] == created["id"]
    async with http.get(f"/api/v4/files/{info['id']}/info") as resp:
        assert (await resp.json())["post_id"] == created["id"]
    async with http.get(f"/api/v4/files/{info['id']}") as resp:
        assert await resp.read() == b"hello world"
        assert resp.headers["Content-Disposition"].startswith("attachment;")
    async with http.get("/api/v4/files/" + "f" * 26) as resp:
        assert resp.status == 404
        assert (await resp.json())["id"] == "app.file_info.get.app_error"


async def test_raw_upload(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.token)
    params = {"channel_id": emulator.seed.channel_id, "filename": "a.bin"}
    async with http.post("/api/v4/files", params=params, data=b"\x00\x01") as resp:
        assert resp.status == 201
        assert (await resp.json())["file_infos"][0]["size"] == 2


async def test_upload_too_large() -> None:
    import aiohttp

    emu = Emulator(EmulatorSettings(max_file_size=1000))
    await emu.start()
    try:
        headers = {"Authorization": f"Bearer {emu.seed.token}"}
        async with aiohttp.ClientSession(base_url=emu.url, headers=headers) as http:
            params = {"channel_id": emu.seed.channel_id, "filename": "big.bin"}
            async with http.post("/api/v4/files", params=params, data=b"x" * 2000) as resp:
                assert resp.status == 413
    finally:
        await emu.stop()
