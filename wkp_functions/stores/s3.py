"""S3Store: the reference functions' object store on S3 (or any S3-compatible
store) through boto3, synchronous.

Bodies up to `part_size` go in one PutObject; larger ones as a multipart
upload, completed only when the body's iterator ends without raising (the
core verifies the signature there), and aborted otherwise, so a refused or
cut-off push never leaves an object behind.
"""
from __future__ import annotations

import calendar
from typing import Iterable, Iterator, Mapping

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import NotFound, ObjectInfo, PreconditionFailed, StoreUnavailable

DEFAULT_PART_SIZE = 8 * 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}


def _ts(value) -> float:
    return float(calendar.timegm(value.utctimetuple())) if value is not None else 0.0


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _unavailable(exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"object store unavailable: {type(exc).__name__}: {exc}")


class S3Store:
    """`client` is a boto3 S3 client (tests and the bundle build one with
    `from_env`); credentials come from boto3's usual chain: on Lambda, the
    function's execution role."""

    def __init__(self, client, bucket: str, *, part_size: int = DEFAULT_PART_SIZE):
        if part_size < 5 * 1024 * 1024:
            raise ValueError("S3 parts must be at least 5 MiB")
        self.client, self.bucket, self.part_size = client, bucket, part_size

    @classmethod
    def from_env(cls, bucket: str, *, endpoint_url: str | None = None, region: str | None = None,
                 timeout_s: float = 10.0) -> "S3Store":
        config = Config(connect_timeout=timeout_s, read_timeout=timeout_s * 6,
                        retries={"max_attempts": 2, "mode": "standard"},
                        # the core checks its own SHA-256 end to end
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required")
        client = boto3.session.Session().client("s3", endpoint_url=endpoint_url or None,
                                                region_name=region, config=config)
        return cls(client, bucket)

    def _call(self, op: str, **kwargs):
        try:
            return getattr(self.client, op)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if _code(exc) in _MISSING or _status(exc) == 404:
                raise NotFound(kwargs.get("Key", self.bucket)) from None
            if _code(exc) == "PreconditionFailed" or _status(exc) == 412:
                raise PreconditionFailed(kwargs.get("Key", "")) from None
            raise _unavailable(exc) from None
        except BotoCoreError as exc:  # connection refused, timeouts, ...
            raise _unavailable(exc) from None

    def ping(self) -> None:
        try:
            self._call("head_bucket")
        except NotFound:
            raise StoreUnavailable(f"bucket {self.bucket!r} does not exist") from None

    def ensure_bucket(self) -> None:
        try:
            self._call("head_bucket")
        except NotFound:
            self._call("create_bucket")

    def list(self, prefix: str) -> list[ObjectInfo]:
        out, token = [], None
        while True:
            kwargs = {"Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            r = self._call("list_objects_v2", **kwargs)
            out.extend(ObjectInfo(o["Key"], o["Size"], o["ETag"].strip('"'), _ts(o.get("LastModified")))
                       for o in r.get("Contents", ()))
            if not r.get("IsTruncated"):
                return out
            token = r["NextContinuationToken"]

    def head(self, key: str) -> ObjectInfo | None:
        try:
            r = self._call("head_object", Key=key)
        except NotFound:
            return None
        return ObjectInfo(key, r["ContentLength"], r["ETag"].strip('"'), _ts(r.get("LastModified")),
                          dict(r.get("Metadata", {})))

    def get(self, key: str) -> bytes:
        r = self._call("get_object", Key=key)
        try:
            return r["Body"].read()
        except BotoCoreError as exc:
            raise _unavailable(exc) from None

    def stream(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        body = self._call("get_object", Key=key)["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        except BotoCoreError as exc:
            raise _unavailable(exc) from None
        finally:
            body.close()

    def put(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None,
            *, if_absent: bool = False) -> ObjectInfo:
        kwargs = {"Key": key, "Body": data, "Metadata": dict(metadata or {})}
        if if_absent:
            kwargs["IfNoneMatch"] = "*"
        r = self._call("put_object", **kwargs)
        return ObjectInfo(key, len(data), r["ETag"].strip('"'), 0.0, dict(metadata or {}))

    def put_stream(self, key: str, chunks: Iterable[bytes],
                   metadata: Mapping[str, str] | None = None) -> ObjectInfo:
        buffer = bytearray()
        iterator = iter(chunks)
        for chunk in iterator:
            buffer += chunk
            if len(buffer) >= self.part_size:
                return self._multipart(key, buffer, iterator, metadata)
        return self.put(key, bytes(buffer), metadata)

    def _multipart(self, key, buffer: bytearray, iterator, metadata) -> ObjectInfo:
        upload_id = self._call("create_multipart_upload", Key=key,
                               Metadata=dict(metadata or {}))["UploadId"]
        parts, size = [], 0
        try:
            while True:
                while len(buffer) >= self.part_size:
                    piece = bytes(buffer[:self.part_size])
                    del buffer[:self.part_size]
                    parts.append(self._part(key, upload_id, len(parts) + 1, piece))
                    size += len(piece)
                chunk = next(iterator, None)
                if chunk is None:
                    break
                buffer += chunk
            if buffer:
                parts.append(self._part(key, upload_id, len(parts) + 1, bytes(buffer)))
                size += len(buffer)
            r = self._call("complete_multipart_upload", Key=key, UploadId=upload_id,
                           MultipartUpload={"Parts": parts})
        except BaseException:
            try:  # never leave a half upload behind
                self._call("abort_multipart_upload", Key=key, UploadId=upload_id)
            except Exception:
                pass
            raise
        return ObjectInfo(key, size, r["ETag"].strip('"'), 0.0, dict(metadata or {}))

    def _part(self, key, upload_id, number: int, data: bytes) -> dict:
        r = self._call("upload_part", Key=key, UploadId=upload_id, PartNumber=number, Body=data)
        return {"PartNumber": number, "ETag": r["ETag"]}

    def delete(self, key: str) -> None:
        try:
            self._call("delete_object", Key=key)
        except NotFound:
            pass
