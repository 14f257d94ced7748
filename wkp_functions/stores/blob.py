"""BlobStore: the reference functions' object store on Azure Blob Storage
through azure-storage-blob, synchronous.

Atomic streamed puts: a body up to `block_size` goes in one Put Blob; a
larger one is staged block by block and committed (Put Block List) only when
the body's iterator ends without raising (the core verifies the signature
there). Staged blocks that are never committed are not a blob: nothing
appears, and Azure discards them after a week.

Metadata: Azure metadata names must be C# identifiers, so the protocol's
`wkp-checksum` is stored as `wkp_checksum` and read back with its dash.
Create-only puts send `If-None-Match: *` (a 409 BlobAlreadyExists).
"""
from __future__ import annotations

import base64
import calendar
from typing import Iterable, Iterator, Mapping

from azure.core import MatchConditions
from azure.core.exceptions import (AzureError, ResourceExistsError, ResourceModifiedError,
                                   ResourceNotFoundError)
from azure.storage.blob import BlobServiceClient, ContainerClient, LinearRetry

from . import NotFound, ObjectInfo, PreconditionFailed, StoreUnavailable

DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024


def _ts(value) -> float:
    return float(calendar.timegm(value.utctimetuple())) if value is not None else 0.0


def _etag(value) -> str:
    return str(value or "").strip('"')


def to_azure_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    return {k.replace("-", "_"): v for k, v in (metadata or {}).items()}


def from_azure_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    return {k.replace("_", "-"): v for k, v in (metadata or {}).items()}


def _unavailable(exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"object store unavailable: {type(exc).__name__}: {str(exc)[:300]}")


class BlobStore:
    """`container` is an azure.storage.blob.ContainerClient; `from_connection_string`
    builds one (on Azure Functions from the app setting holding the storage
    account's connection string; against Azurite with its well-known dev account)."""

    def __init__(self, container: ContainerClient, *, block_size: int = DEFAULT_BLOCK_SIZE):
        self.container, self.block_size = container, block_size

    @classmethod
    def from_connection_string(cls, connection_string: str, container: str, *,
                               timeout_s: float = 10.0, block_size: int = DEFAULT_BLOCK_SIZE) -> "BlobStore":
        # few, quick retries: past them the engine's own retry takes over (503). The
        # storage SDK's default waits 15 s, then 45 s, ... before giving up.
        retry = LinearRetry(backoff=0.3, random_jitter_range=0.1, retry_total=2)
        service = BlobServiceClient.from_connection_string(
            connection_string, retry_policy=retry, connection_timeout=timeout_s, read_timeout=timeout_s * 6)
        return cls(service.get_container_client(container), block_size=block_size)

    @property
    def name(self) -> str:
        return self.container.container_name

    def _call(self, fn, *args, key: str = "", **kwargs):
        try:
            return fn(*args, **kwargs)
        except ResourceNotFoundError:
            raise NotFound(key or self.name) from None
        except (ResourceExistsError, ResourceModifiedError):
            raise PreconditionFailed(key) from None
        except (AzureError, OSError) as exc:
            raise _unavailable(exc) from None

    def ping(self) -> None:
        try:
            self._call(self.container.get_container_properties)
        except NotFound:
            raise StoreUnavailable(f"container {self.name!r} does not exist") from None

    def ensure_container(self) -> None:
        try:
            self._call(self.container.create_container)
        except PreconditionFailed:  # 409 ContainerAlreadyExists
            pass

    def list(self, prefix: str) -> list[ObjectInfo]:
        def listing():
            return [ObjectInfo(b.name, int(b.size), _etag(b.etag), _ts(b.last_modified))
                    for b in self.container.list_blobs(name_starts_with=prefix)]
        return sorted(self._call(listing), key=lambda i: i.key)

    def head(self, key: str) -> ObjectInfo | None:
        try:
            p = self._call(self.container.get_blob_client(key).get_blob_properties, key=key)
        except NotFound:
            return None
        return ObjectInfo(key, int(p.size), _etag(p.etag), _ts(p.last_modified),
                          from_azure_metadata(p.metadata))

    def get(self, key: str) -> bytes:
        downloader = self._call(self.container.get_blob_client(key).download_blob, key=key)
        return self._call(downloader.readall, key=key)

    def stream(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        blob = self.container.get_blob_client(key)
        props = self._call(blob.get_blob_properties, key=key)
        start = 0
        while start < props.size:
            length = min(chunk_size, props.size - start)
            # every range of the one version listed: a rewrite meanwhile is a 412, not a mix
            try:
                downloader = self._call(blob.download_blob, key=key, offset=start, length=length,
                                        etag=props.etag, match_condition=MatchConditions.IfNotModified)
                chunk = self._call(downloader.readall, key=key)
            except PreconditionFailed:
                raise StoreUnavailable(f"{key} was rewritten while it was read") from None
            if not chunk:
                raise StoreUnavailable(f"{key}: empty read at byte {start} of {props.size}")
            start += len(chunk)
            yield chunk

    def put(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None,
            *, if_absent: bool = False) -> ObjectInfo:
        r = self._call(self.container.get_blob_client(key).upload_blob, data, key=key,
                       overwrite=not if_absent, metadata=to_azure_metadata(metadata))
        return ObjectInfo(key, len(data), _etag(r.get("etag")), _ts(r.get("last_modified")),
                          dict(metadata or {}))

    def put_stream(self, key: str, chunks: Iterable[bytes],
                   metadata: Mapping[str, str] | None = None) -> ObjectInfo:
        buffer = bytearray()
        iterator = iter(chunks)
        for chunk in iterator:
            buffer += chunk
            if len(buffer) > self.block_size:
                return self._blocks(key, buffer, iterator, metadata)
        return self.put(key, bytes(buffer), metadata)

    def _blocks(self, key: str, buffer: bytearray, iterator, metadata) -> ObjectInfo:
        blob = self.container.get_blob_client(key)
        ids, size = [], 0

        def stage(data: bytes):
            block_id = base64.b64encode(f"{len(ids):08d}".encode()).decode()
            self._call(blob.stage_block, block_id, data, key=key)
            ids.append(block_id)

        while True:
            while len(buffer) >= self.block_size:
                stage(bytes(buffer[:self.block_size]))
                size += self.block_size
                del buffer[:self.block_size]
            chunk = next(iterator, None)  # raises here if the body is refused: nothing committed
            if chunk is None:
                break
            buffer += chunk
        if buffer:
            stage(bytes(buffer))
            size += len(buffer)
        r = self._call(blob.commit_block_list, ids, key=key, metadata=to_azure_metadata(metadata))
        return ObjectInfo(key, size, _etag(r.get("etag")), _ts(r.get("last_modified")),
                          dict(metadata or {}))

    def delete(self, key: str) -> None:
        try:
            self._call(self.container.get_blob_client(key).delete_blob, key=key)
        except NotFound:
            pass

