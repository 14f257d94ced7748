"""The S3 backend (aiobotocore), for moto on loopback or any S3-compatible store.

Streaming puts buffer one part (8 MiB by default): a body that ends within the
first part is one PutObject, issued only after the source generator finished
without raising (that is where the function verifies the signature). Longer
bodies go to a multipart upload, completed only after the generator finished
and aborted on any exception, including cancellation when a client goes away.
An incomplete multipart upload is invisible to listings and reads.

Two hot paths leave the SDK on plain-http stores, because its per-call CPU
was most of the function's own: a restore's GETs (raw_get.py, for the splice
relay) and a one-part PutObject (raw_put.py, signed by sigv4.py). Anything
unusual on a raw PUT is retried through the SDK, which stays the reference.
"""
from __future__ import annotations

import asyncio
import calendar
from contextlib import AsyncExitStack
from typing import AsyncIterator, Mapping

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from .interface import NotFound, ObjectInfo, PreconditionFailed, StoreUnavailable
from .raw_get import RawObject, open_raw_get
from .raw_put import RawPut
from .sigv4 import SigV4Signer

DEFAULT_PART_SIZE = 8 * 1024 * 1024
DEFAULT_CHUNK = 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}


def _ts(value) -> float:
    return float(calendar.timegm(value.utctimetuple())) if value is not None else 0.0


def _unavailable(exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"object store unavailable: {type(exc).__name__}: {exc}")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


class S3Store:
    def __init__(self, endpoint_url: str, bucket: str, *, region: str = "us-east-1",
                 access_key: str = "wkp-emu", secret_key: str = "wkp-emu",
                 part_size: int = DEFAULT_PART_SIZE, timeout_s: float = 10.0,
                 max_pool: int = 64):
        if part_size < 5 * 1024 * 1024:
            raise ValueError("S3 parts must be at least 5 MiB")
        self.endpoint_url, self.bucket, self.part_size = endpoint_url, bucket, part_size
        self._timeout_s = timeout_s
        self._credentials = dict(region_name=region, aws_access_key_id=access_key,
                                 aws_secret_access_key=secret_key)
        self._config = AioConfig(connect_timeout=timeout_s, read_timeout=timeout_s * 6,
                                 retries={"max_attempts": 2, "mode": "standard"},
                                 max_pool_connections=max_pool,
                                 # The function checks its own SHA-256 of every body
                                 # end to end; the SDK's extra CRC costs CPU and adds nothing.
                                 request_checksum_calculation="when_required",
                                 response_checksum_validation="when_required")
        self._stack: AsyncExitStack | None = None
        self._client = None
        # PutObject without the SDK's per-call CPU (raw_put.py), plain http only
        self._raw_put = RawPut(endpoint_url, bucket, SigV4Signer(access_key, secret_key, region),
                               timeout_s) if endpoint_url.startswith("http://") else None

    async def open(self) -> "S3Store":
        self._stack = AsyncExitStack()
        self._client = await self._stack.enter_async_context(get_session().create_client(
            "s3", endpoint_url=self.endpoint_url, config=self._config, **self._credentials))
        return self

    async def close(self) -> None:
        if self._stack:
            await self._stack.aclose()
        self._stack = self._client = None

    async def __aenter__(self):
        return await self.open()

    async def __aexit__(self, *exc):
        await self.close()

    async def _call(self, op: str, **kwargs):
        try:
            return await getattr(self._client, op)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise NotFound(kwargs.get("Key", self.bucket)) from None
            if _code(exc) == "PreconditionFailed" or _status(exc) == 412:
                raise PreconditionFailed(kwargs.get("Key", "")) from None
            if _status(exc) >= 500 or _status(exc) == 0:
                raise _unavailable(exc) from None
            raise
        except (BotoCoreError, OSError, asyncio.TimeoutError) as exc:
            raise _unavailable(exc) from None

    async def ensure_bucket(self) -> None:
        try:
            await self._call("head_bucket")
        except NotFound:
            await self._call("create_bucket")
        except ClientError as exc:
            if _status(exc) != 404:
                raise
            await self._call("create_bucket")

    async def ping(self) -> None:
        try:
            await self._call("head_bucket")
        except NotFound:
            raise StoreUnavailable(f"bucket {self.bucket!r} does not exist") from None
        except ClientError as exc:
            raise _unavailable(exc) from None

    async def list(self, prefix: str) -> list[ObjectInfo]:
        out, token = [], None
        while True:
            kwargs = {"Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = await self._call("list_objects_v2", **kwargs)
            for item in page.get("Contents", ()):
                out.append(ObjectInfo(item["Key"], int(item["Size"]), item["ETag"].strip('"'),
                                      _ts(item.get("LastModified"))))
            if not page.get("IsTruncated"):
                return out
            token = page["NextContinuationToken"]

    async def head(self, key: str) -> ObjectInfo | None:
        try:
            r = await self._call("head_object", Key=key)
        except NotFound:
            return None
        return ObjectInfo(key, int(r["ContentLength"]), r["ETag"].strip('"'),
                          _ts(r.get("LastModified")), dict(r.get("Metadata", {})))

    async def get(self, key: str) -> bytes:
        r = await self._call("get_object", Key=key)
        async with r["Body"] as body:
            return await body.read()

    async def stream(self, key: str, chunk_size: int = DEFAULT_CHUNK) -> AsyncIterator[bytes]:
        r = await self._call("get_object", Key=key)
        try:
            async with r["Body"] as body:
                while True:
                    chunk = await body.read(chunk_size)
                    if not chunk:
                        return
                    yield chunk
        except (BotoCoreError, OSError, asyncio.TimeoutError) as exc:
            raise _unavailable(exc) from None

    @property
    def raw_capable(self) -> bool:
        """Whether open_raw can work: a plain-http endpoint (no TLS to get through)."""
        return self.endpoint_url.startswith("http://")

    async def open_raw(self, key: str) -> RawObject:
        """The object's body still in its socket, for a kernel-side relay
        (raw_get.py). Only when raw_capable; NotFound if absent."""
        url = await self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=300)
        return await open_raw_get(url, key, self._timeout_s)

    async def put(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None,
                  *, if_absent: bool = False) -> ObjectInfo:
        if self._raw_put and not if_absent and RawPut.suits(metadata or {}):
            etag = await self._raw_put.put(key, data, metadata or {})
            if etag is not None:
                return ObjectInfo(key, len(data), etag, 0.0, dict(metadata or {}))
        kwargs = {"Key": key, "Body": data, "Metadata": dict(metadata or {})}
        if if_absent:
            kwargs["IfNoneMatch"] = "*"
        r = await self._call("put_object", **kwargs)
        return ObjectInfo(key, len(data), r["ETag"].strip('"'), 0.0, dict(metadata or {}))

    async def put_stream(self, key: str, chunks: AsyncIterator[bytes],
                         metadata: Mapping[str, str] | None = None) -> ObjectInfo:
        buffer = bytearray()
        iterator = chunks.__aiter__()
        async for chunk in iterator:
            buffer += chunk
            if len(buffer) >= self.part_size:
                return await self._multipart(key, buffer, iterator, metadata)
        return await self.put(key, bytes(buffer), metadata)

    async def _multipart(self, key, buffer: bytearray, iterator, metadata) -> ObjectInfo:
        upload = await self._call("create_multipart_upload", Key=key, Metadata=dict(metadata or {}))
        upload_id, parts, size = upload["UploadId"], [], 0
        try:
            while True:
                while len(buffer) >= self.part_size:
                    piece = bytes(buffer[:self.part_size])
                    del buffer[:self.part_size]
                    parts.append(await self._upload_part(key, upload_id, len(parts) + 1, piece))
                    size += len(piece)
                try:
                    buffer += await iterator.__anext__()
                except StopAsyncIteration:
                    break
            if buffer:
                parts.append(await self._upload_part(key, upload_id, len(parts) + 1, bytes(buffer)))
                size += len(buffer)
            r = await self._call("complete_multipart_upload", Key=key, UploadId=upload_id,
                                 MultipartUpload={"Parts": parts})
        except BaseException:
            await self._abort(key, upload_id)
            raise
        return ObjectInfo(key, size, r["ETag"].strip('"'), 0.0, dict(metadata or {}))

    async def _upload_part(self, key, upload_id, number, data) -> dict:
        r = await self._call("upload_part", Key=key, UploadId=upload_id, PartNumber=number, Body=data)
        return {"PartNumber": number, "ETag": r["ETag"]}

    async def _abort(self, key, upload_id) -> None:
        try:  # shielded: a cancelled handler must still not leave a half upload behind
            await asyncio.shield(self._call("abort_multipart_upload", Key=key, UploadId=upload_id))
        except Exception:
            pass

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Key=key)

    async def delete_prefix(self, prefix: str) -> int:
        objects = await self.list(prefix)
        for start in range(0, len(objects), 1000):
            batch = [{"Key": o.key} for o in objects[start:start + 1000]]
            await self._call("delete_objects", Delete={"Objects": batch, "Quiet": True})
        return len(objects)
