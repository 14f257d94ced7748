"""The SyncStore contract (wkp_functions/stores/__init__.py), checked the same
way on every backend: the test_gcf_store and test_azure_store modules run it on
the real stand-ins."""
from __future__ import annotations

import os

import pytest

from emulator.protocol.errors import StoreUnavailable
from wkp_functions.stores import NotFound, PreconditionFailed

META = {"wkp-checksum": "abc123", "wkp-request-id": "r-1", "wkp-stored-at": "1700000000", "wkp-status": "200"}


class Refused(Exception):
    pass


def body(data: bytes, piece: int, fail: bool = False):
    for start in range(0, len(data), piece):
        yield data[start:start + piece]
    if fail:
        raise Refused("the signature did not verify")


def check_put_head_get_list_delete(store):
    info = store.put("t/e/i/a", b"hello", META)
    assert info.key == "t/e/i/a" and info.size == 5 and info.etag
    head = store.head("t/e/i/a")
    assert head.size == 5 and head.etag == info.etag and head.metadata == META
    assert head.last_modified > 1e9
    assert store.get("t/e/i/a") == b"hello"
    assert list(store.stream("t/e/i/a", 2)) == [b"he", b"ll", b"o"]
    store.put("t/e/i/b", b"x")
    store.put("t/other", b"y")
    listed = store.list("t/e/")
    assert [i.key for i in listed] == ["t/e/i/a", "t/e/i/b"]
    assert listed[0].etag == info.etag and listed[0].size == 5  # the same ETag a put returned
    store.delete("t/e/i/a")
    store.delete("t/e/i/a")  # absent is fine
    assert store.head("t/e/i/a") is None
    with pytest.raises(NotFound):
        store.get("t/e/i/a")
    with pytest.raises(NotFound):
        list(store.stream("t/e/i/a", 10))


def check_create_only(store):
    store.put("claims/x", b"first", if_absent=True)
    with pytest.raises(PreconditionFailed):
        store.put("claims/x", b"second", if_absent=True)
    assert store.get("claims/x") == b"first"
    before = store.head("claims/x").etag
    store.put("claims/x", b"third")  # without if_absent: replaces, new ETag
    assert store.get("claims/x") == b"third" and store.head("claims/x").etag != before


def check_streamed_puts(store, threshold: int):
    small = os.urandom(1000)
    assert store.put_stream("s/small", body(small, 300), META).size == 1000
    assert store.get("s/small") == small and store.head("s/small").metadata == META
    big = os.urandom(threshold * 2 + 12345)
    info = store.put_stream("s/big", body(big, 256 * 1024), META)
    assert info.size == len(big) and info.etag == store.head("s/big").etag
    assert b"".join(store.stream("s/big", threshold // 3)) == big
    assert store.head("s/big").metadata == META


def check_refused_streams_leave_nothing(store, threshold: int):
    for size in (1000, threshold * 2 + 1):  # a one-shot put and a multi-part one
        with pytest.raises(Refused):
            store.put_stream(f"s/refused-{size}", body(os.urandom(size), 64 * 1024, fail=True), META)
        assert store.head(f"s/refused-{size}") is None
        assert store.list(f"s/refused-{size}") == []


def check_rewrite_during_a_ranged_read(store):
    """A body rewritten while it is streamed in ranges is unavailable, never a mix of both."""
    store.put("r/k", b"a" * 10)
    chunks = store.stream("r/k", 4)
    assert next(chunks) == b"aaaa"
    store.put("r/k", b"b" * 10)
    with pytest.raises(StoreUnavailable, match="rewritten"):
        next(chunks)
