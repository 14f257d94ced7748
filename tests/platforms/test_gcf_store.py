"""GCSStore (google-cloud-storage) on a real GCS emulator process on loopback,
and the emulator's precondition check that the stand-in adds."""
from __future__ import annotations

import pytest

from emulator.protocol.errors import StoreUnavailable
from emulator.platforms.standin_process import free_port
from wkp_functions.stores.gcs import GCSStore

from . import store_contract as contract
from .standins import fresh_name, gcs_endpoint  # noqa: F401  (fixture)

SMALL = 1024 * 1024


@pytest.fixture
def store(gcs_endpoint):
    s = GCSStore.from_env(fresh_name("b"), env={"STORAGE_EMULATOR_HOST": gcs_endpoint})
    s.buffer_size = SMALL  # exercise the resumable path with small bodies
    s.ensure_bucket()
    return s


def test_put_head_get_list_delete(store):
    contract.check_put_head_get_list_delete(store)


def test_create_only_put_is_refused_when_the_object_exists(store):
    contract.check_create_only(store)


def test_streamed_puts_one_shot_and_resumable(store):
    contract.check_streamed_puts(store, SMALL)


def test_a_body_refused_mid_stream_leaves_no_object(store):
    contract.check_refused_streams_leave_nothing(store, SMALL)


def test_etag_is_the_generation_and_changes_on_rewrite(store):
    first = store.put("g/k", b"same")
    second = store.put("g/k", b"same")
    assert first.etag != second.etag == store.list("g/")[0].etag


def test_a_missing_bucket_is_unavailable_not_a_crash(gcs_endpoint):
    s = GCSStore.from_env(fresh_name("absent"), env={"STORAGE_EMULATOR_HOST": gcs_endpoint})
    with pytest.raises(StoreUnavailable, match="does not exist"):
        s.ping()


def test_an_unreachable_emulator_is_unavailable():
    s = GCSStore.from_env("b", env={"STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{free_port()}"},
                          timeout_s=2)
    with pytest.raises(StoreUnavailable):
        s.list("x/")


def test_a_rewrite_during_a_ranged_read_is_unavailable_not_a_mix(store):
    contract.check_rewrite_during_a_ranged_read(store)


async def test_the_async_face_streams_puts_and_clears_for_the_supervisor(store):
    from emulator.platforms.async_store import AsyncStore
    face = AsyncStore(store)
    big = bytes(range(256)) * 20000  # 5 MB: past the 1 MiB one-shot size, a resumable upload

    async def chunks(fail=False):
        for start in range(0, len(big), 300_000):
            yield big[start:start + 300_000]
        if fail:
            raise contract.Refused("cut")

    info = await face.put_stream("a/big", chunks(), contract.META)
    assert info.size == len(big)
    assert b"".join([c async for c in face.stream("a/big", 1 << 20)]) == big
    assert (await face.head("a/big")).metadata == contract.META
    with pytest.raises(contract.Refused):
        await face.put_stream("a/cut", chunks(fail=True))
    assert await face.head("a/cut") is None
    await face.put("a/small", b"x")
    assert await face.delete_prefix("a/") == 2 and await face.list("a/") == []
