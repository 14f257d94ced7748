"""GCSStore: the reference functions' object store on Google Cloud Storage
through google-cloud-storage, synchronous.

ETags: the store's ETag for an object is its *generation*, the number GCS
gives every write of an object (a rewrite of the same bytes gets a new one),
present alike in a listing and in an upload's answer; the core compares the
ETags of a listing with those it recorded, so they must be the same kind.

Atomic streamed puts: a body up to `buffer_size` goes in one upload; a larger
one as a resumable upload whose final chunk is sent only when the body's
iterator ends without raising (the core verifies the signature there). If it
raises, the upload is never finalized, so no object appears (GCS drops the
unfinished session after a week).

Create-only puts use `ifGenerationMatch=0`, which GCS enforces (412).
"""
from __future__ import annotations

import calendar
import os
from typing import Iterable, Iterator, Mapping

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.auth.exceptions import GoogleAuthError
from google.cloud import storage

from . import NotFound, ObjectInfo, PreconditionFailed, StoreUnavailable

DEFAULT_BUFFER_SIZE = 8 * 1024 * 1024
RESUMABLE_CHUNK = 8 * 1024 * 1024  # a multiple of 256 KiB, as resumable uploads require

try:  # transport errors: requests below google-auth
    from requests.exceptions import RequestException as _TransportError
except ImportError:  # pragma: no cover
    _TransportError = OSError
try:
    from google.resumable_media.common import InvalidResponse as _UploadError
except ImportError:  # pragma: no cover
    _UploadError = _TransportError

_UNAVAILABLE = (gexc.GoogleAPIError, GoogleAuthError, _TransportError, _UploadError, OSError)


def _ts(value) -> float:
    return float(calendar.timegm(value.utctimetuple())) if value is not None else 0.0


def _info(blob, with_metadata: bool = False) -> ObjectInfo:
    return ObjectInfo(blob.name, int(blob.size or 0), str(blob.generation or ""), _ts(blob.updated),
                      dict(blob.metadata or {}) if with_metadata else {})


def _unavailable(exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"object store unavailable: {type(exc).__name__}: {exc}")


class _IteratorFile:
    """A read(n) file over an iterator of chunks, for a resumable upload of
    unknown size; an exception from the iterator propagates out of read()."""

    def __init__(self, chunks: Iterable[bytes], head: bytes = b""):
        self._chunks, self._buffer, self.size = iter(chunks), bytearray(head), 0

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buffer) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        n = len(self._buffer) if n < 0 else n
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        self.size += len(out)
        return out

    def tell(self) -> int:
        return self.size


class GCSStore:
    """`client` is a google.cloud.storage.Client; `from_env` builds one (on
    Cloud Functions with the function's service account; against an emulator
    when STORAGE_EMULATOR_HOST is set)."""

    def __init__(self, client: storage.Client, bucket: str, *, buffer_size: int = DEFAULT_BUFFER_SIZE,
                 timeout_s: float = 60.0):
        self.client, self.bucket_name, self.buffer_size = client, bucket, buffer_size
        self.bucket = client.bucket(bucket)
        self.timeout = timeout_s
        # transient failures are retried a little, then the engine's own retry takes over (503)
        self.retry = Retry(initial=0.1, maximum=1.0, timeout=min(5.0, timeout_s / 4))

    @classmethod
    def from_env(cls, bucket: str, *, project: str | None = None, timeout_s: float = 60.0,
                 env: Mapping[str, str] | None = None) -> "GCSStore":
        env = os.environ if env is None else env
        if env.get("STORAGE_EMULATOR_HOST"):
            # an emulator takes no credentials; never send the user's own to it
            from google.auth.credentials import AnonymousCredentials
            client = storage.Client(project=project or "wkp-emu", credentials=AnonymousCredentials(),
                                    client_options={"api_endpoint": env["STORAGE_EMULATOR_HOST"]})
        else:
            client = storage.Client(project=project)
        return cls(client, bucket, timeout_s=timeout_s)

    def _call(self, fn, *args, key: str = "", **kwargs):
        try:
            return fn(*args, **kwargs)
        except gexc.NotFound:
            raise NotFound(key or self.bucket_name) from None
        except gexc.PreconditionFailed:
            raise PreconditionFailed(key) from None
        except _UNAVAILABLE as exc:
            raise _unavailable(exc) from None

    def ping(self) -> None:
        try:
            self._call(self.bucket.reload, timeout=self.timeout, retry=self.retry)
        except NotFound:
            raise StoreUnavailable(f"bucket {self.bucket_name!r} does not exist") from None

    def ensure_bucket(self) -> None:
        try:
            self._call(self.bucket.reload, timeout=self.timeout)
        except NotFound:
            self._call(self.client.create_bucket, self.bucket_name, timeout=self.timeout)

    def list(self, prefix: str) -> list[ObjectInfo]:
        def listing():
            blobs = self.client.list_blobs(self.bucket, prefix=prefix, timeout=self.timeout,
                                           retry=self.retry)
            return sorted((_info(b) for b in blobs), key=lambda i: i.key)
        return self._call(listing)

    def head(self, key: str) -> ObjectInfo | None:
        blob = self._call(self.bucket.get_blob, key, key=key, timeout=self.timeout, retry=self.retry)
        return _info(blob, with_metadata=True) if blob is not None else None

    def get(self, key: str) -> bytes:
        return self._call(self.bucket.blob(key).download_as_bytes, key=key, timeout=self.timeout,
                          retry=self.retry)

    def stream(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        # ranged reads of one generation: a rewrite while we read cannot mix two objects
        blob = self._call(self.bucket.get_blob, key, key=key, timeout=self.timeout, retry=self.retry)
        if blob is None:
            raise NotFound(key)
        size, start = int(blob.size or 0), 0
        while start < size:
            end = min(start + chunk_size, size) - 1
            try:
                chunk = self._call(blob.download_as_bytes, key=key, start=start, end=end,
                                   if_generation_match=blob.generation, timeout=self.timeout,
                                   retry=self.retry, checksum=None)
            except (PreconditionFailed, NotFound):  # the generation listed is no longer there
                raise StoreUnavailable(f"{key} was rewritten or deleted while it was read") from None
            if not chunk:
                raise StoreUnavailable(f"{key}: empty read at byte {start} of {size}")
            start += len(chunk)
            yield chunk

    def put(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None,
            *, if_absent: bool = False) -> ObjectInfo:
        blob = self.bucket.blob(key)
        blob.metadata = dict(metadata or {})
        kwargs = {"if_generation_match": 0} if if_absent else {}
        self._call(blob.upload_from_string, data, key=key, content_type="application/octet-stream",
                   timeout=self.timeout, checksum=None, **kwargs)
        return ObjectInfo(key, len(data), str(blob.generation or ""), _ts(blob.updated),
                          dict(metadata or {}))

    def put_stream(self, key: str, chunks: Iterable[bytes],
                   metadata: Mapping[str, str] | None = None) -> ObjectInfo:
        buffer = bytearray()
        iterator = iter(chunks)
        for chunk in iterator:
            buffer += chunk
            if len(buffer) > self.buffer_size:
                return self._resumable(key, _IteratorFile(iterator, bytes(buffer)), metadata)
        return self.put(key, bytes(buffer), metadata)

    def _resumable(self, key: str, source: _IteratorFile, metadata) -> ObjectInfo:
        blob = self.bucket.blob(key, chunk_size=RESUMABLE_CHUNK)
        blob.metadata = dict(metadata or {})
        # size unknown: each chunk goes as it fills; the last (short) one finalizes,
        # and it is only read once the iterator has ended cleanly
        self._call(blob.upload_from_file, source, key=key, content_type="application/octet-stream",
                   timeout=self.timeout, checksum=None, rewind=False,
                   retry=None)  # a stream cannot be re-read
        return ObjectInfo(key, source.size, str(blob.generation or ""), _ts(blob.updated),
                          dict(metadata or {}))

    def delete(self, key: str) -> None:
        try:
            self._call(self.bucket.delete_blob, key, key=key, timeout=self.timeout)
        except NotFound:
            pass
