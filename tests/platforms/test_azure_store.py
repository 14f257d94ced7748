"""BlobStore (azure-storage-blob) on a real Azurite process on loopback."""
from __future__ import annotations

import time

import pytest

from emulator.platforms.azure_host.standin import connection_string
from emulator.platforms.standin_process import free_port
from emulator.protocol.errors import StoreUnavailable
from wkp_functions.stores.blob import BlobStore, from_azure_metadata, to_azure_metadata

from . import store_contract as contract
from .standins import azurite_endpoint, fresh_name  # noqa: F401  (fixture)

SMALL = 1024 * 1024


@pytest.fixture
def store(azurite_endpoint):
    s = BlobStore.from_connection_string(connection_string(azurite_endpoint), fresh_name("c"),
                                         block_size=SMALL)
    s.ensure_container()
    return s


def test_put_head_get_list_delete(store):
    contract.check_put_head_get_list_delete(store)


def test_create_only_put_is_refused_when_the_blob_exists(store):
    contract.check_create_only(store)


def test_streamed_puts_one_shot_and_staged_blocks(store):
    contract.check_streamed_puts(store, SMALL)


def test_a_body_refused_mid_stream_commits_nothing(store):
    contract.check_refused_streams_leave_nothing(store, SMALL)


def test_metadata_names_are_stored_as_identifiers_and_read_back_with_dashes():
    stored = to_azure_metadata(contract.META)
    assert all(k.isidentifier() for k in stored)
    assert from_azure_metadata(stored) == contract.META


def test_a_missing_container_is_unavailable(azurite_endpoint):
    s = BlobStore.from_connection_string(connection_string(azurite_endpoint), fresh_name("absent"))
    with pytest.raises(StoreUnavailable, match="does not exist"):
        s.ping()


def test_an_unreachable_account_is_unavailable_within_seconds():
    s = BlobStore.from_connection_string(
        connection_string(f"http://127.0.0.1:{free_port()}/devstoreaccount1"), "c-x", timeout_s=1)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        s.list("x/")
    assert time.monotonic() - started < 5  # a few quick retries, not the SDK's 15 s back-off


def test_a_rewrite_during_a_ranged_read_is_unavailable_not_a_mix(store):
    contract.check_rewrite_during_a_ranged_read(store)
