"""The store survives down/up: export to the state dir and import back, safely."""
from __future__ import annotations

import uuid

import pytest

from emulator.store.moto_server import EmbeddedS3
from emulator.store.s3 import S3Store
from emulator.supervisor.store_archive import export_store, import_store


@pytest.fixture(scope="module")
def moto():
    with EmbeddedS3() as s3:
        yield s3


async def _store(moto):
    store = await S3Store(moto.endpoint, f"a-{uuid.uuid4().hex[:10]}").open()
    await store.ensure_bucket()
    return store


async def test_round_trip_keeps_bytes_and_metadata(moto, tmp_path):
    src = await _store(moto)
    await src.put("weftkit/t/e/i/full/x.bin", b"full-bytes", {"wkp-checksum": "abc"})
    await src.put("weftkit/t/e/i/claim.json", b"{}")
    assert await export_store(src, tmp_path) == 2
    dst = await _store(moto)
    assert await import_store(dst, tmp_path) == 2
    assert await dst.get("weftkit/t/e/i/full/x.bin") == b"full-bytes"
    assert (await dst.head("weftkit/t/e/i/full/x.bin")).metadata == {"wkp-checksum": "abc"}
    await src.close()
    await dst.close()


async def test_a_failed_export_keeps_the_previous_archive(moto, tmp_path):
    src = await _store(moto)
    await src.put("weftkit/t/e/i/full/a.bin", b"first")
    await export_store(src, tmp_path)
    await src.put("weftkit/t/e/i/full/b.bin", b"second")

    class Breaks:
        """The real store, whose reads fail midway through the export."""
        def __init__(self, inner):
            self.inner = inner

        async def list(self, prefix):
            return await self.inner.list(prefix)

        async def head(self, key):
            return await self.inner.head(key)

        async def stream(self, key):
            if key.endswith("b.bin"):
                raise OSError("disk full")
            async for chunk in self.inner.stream(key):
                yield chunk

    with pytest.raises(OSError):
        await export_store(Breaks(src), tmp_path)
    assert sorted(p.name for p in (tmp_path / "store").rglob("*.bin")) == ["a.bin"]
    assert not list(tmp_path.glob("store.tmp-*"))
    await src.close()


async def test_no_archive_imports_nothing(moto, tmp_path):
    dst = await _store(moto)
    assert await import_store(dst, tmp_path) == 0
    await dst.close()
