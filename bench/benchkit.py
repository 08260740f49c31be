"""What several benches share: percentiles and a started state store on each backend.

Benches run as scripts (``python bench/x.py``), so this module is imported by its bare name.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from mmbridge.appservice import MemoryStateStore, StateStore, create_state_store

PG_ADDRESS = os.environ.get("MMBRIDGE_TEST_POSTGRES", "127.0.0.1:5432")
PG_URL = f"postgres://postgres@{PG_ADDRESS}/test"


def percentile(samples: list[float], fraction: float) -> float:
    """The sample at ``fraction`` (0-1) of the sorted samples (nearest rank)."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(len(ordered) * fraction) - 1))]


async def postgres_unreachable() -> str:
    """Why PostgreSQL cannot be used, or "" when it can."""
    try:
        import asyncpg

        conn = await asyncpg.connect(PG_URL, timeout=5)
        await conn.close()
    except Exception as exc:  # refused, timeout, auth, missing database or driver
        return f"PostgreSQL not reachable at {PG_ADDRESS}: {type(exc).__name__}: {exc}"
    return ""


async def open_store(backend: str, workdir: Path) -> tuple[StateStore, Callable[[], Awaitable[None]]]:
    """A started store (memory, sqlite in ``workdir``, or postgres in a fresh schema) and the
    function that closes it (and drops the schema)."""
    if backend == "memory":
        store: StateStore = MemoryStateStore()
        await store.start()
        return store, store.stop
    if backend == "sqlite":
        store = create_state_store(
            f"sqlite:///{workdir / 'bench.db'}", owner="mmbridge-bench", bridge_id="bench"
        )
        await store.start()
        return store, store.stop
    import asyncpg

    schema = f"mmbridge_bench_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await admin.close()
    store = create_state_store(f"{PG_URL}?schema={schema}", owner="mmbridge-bench", bridge_id="bench")
    await store.start()

    async def close() -> None:
        await store.stop()
        admin = await asyncpg.connect(PG_URL, timeout=5)
        try:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await admin.close()

    return store, close
