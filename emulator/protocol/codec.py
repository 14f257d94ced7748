"""Compression codecs of WKP-1: zstd (level 6 default), gzip, none.

Each codec works on streams: `compressor()` and `decompressor()` return
objects with `feed(bytes) -> bytes` and `flush() -> bytes`, so no caller ever
holds a whole snapshot. Concatenation is what makes restore work: a zstd body
of several frames, a gzip body of several members and a plain body of several
pieces each decode to the concatenation of their parts, so a stored full
followed by stored deltas is a valid body as long as all share one encoding.
Decompressors therefore read across frame/member boundaries.
"""
from __future__ import annotations

import enum
import zlib

import zstandard

from .errors import MalformedRequest

ZSTD_LEVEL = 6
GZIP_LEVEL = 6


class Encoding(enum.Enum):
    ZSTD = "zstd"
    GZIP = "gzip"
    NONE = "none"

    @property
    def header(self) -> str:
        """The Content-Encoding value on the wire."""
        return "identity" if self is Encoding.NONE else self.value

    @property
    def extension(self) -> str:
        return {"zstd": "zst", "gzip": "gz", "none": "bin"}[self.value]

    @classmethod
    def from_header(cls, value: str | None) -> "Encoding":
        """Absent or "identity" means none (HTTP's own meaning of no coding)."""
        # Content-Encoding tokens are case-insensitive (RFC 9110), "identity" included.
        token = (value or "").strip().lower()
        if token in ("", "identity", "none"):
            return cls.NONE
        try:
            return cls(token)
        except ValueError:
            raise MalformedRequest(f"Content-Encoding {value!r} is not zstd, gzip or identity",
                                   header="Content-Encoding") from None

    @classmethod
    def from_setting(cls, value: str) -> "Encoding":
        return cls(value)

    @classmethod
    def from_extension(cls, ext: str) -> "Encoding":
        for enc in cls:
            if enc.extension == ext:
                return enc
        raise ValueError(f"unknown extension {ext!r}")

    def compressor(self, level: int | None = None):
        if self is Encoding.ZSTD:
            return _ZstdCompressor(level or ZSTD_LEVEL)
        if self is Encoding.GZIP:
            return _ZlibCompressor(level or GZIP_LEVEL)
        return _Identity()

    def decompressor(self):
        if self is Encoding.ZSTD:
            return _ZstdDecompressor()
        if self is Encoding.GZIP:
            return _GzipDecompressor()
        return _Identity()

    def compress(self, data: bytes, level: int | None = None) -> bytes:
        c = self.compressor(level)
        return c.feed(data) + c.flush()

    def decompress(self, data: bytes) -> bytes:
        d = self.decompressor()
        return d.feed(data) + d.flush()


class CorruptPayload(MalformedRequest):
    pass


class _Identity:
    def feed(self, data: bytes) -> bytes:
        return bytes(data)

    def flush(self) -> bytes:
        return b""


class _ZstdCompressor:
    def __init__(self, level: int):
        # write_content_size is impossible for streams; checksums catch corruption.
        self._obj = zstandard.ZstdCompressor(level=level, write_checksum=True).compressobj()

    def feed(self, data: bytes) -> bytes:
        return self._obj.compress(data)

    def flush(self) -> bytes:
        return self._obj.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)


class _ZlibCompressor:
    def __init__(self, level: int):
        self._obj = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def feed(self, data: bytes) -> bytes:
        return self._obj.compress(data)

    def flush(self) -> bytes:
        return self._obj.flush()


class _ZstdDecompressor:
    """Decodes a sequence of zstd frames, as a restore body of full+deltas is."""

    def __init__(self):
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._in_frame = False

    def feed(self, data: bytes) -> bytes:
        out = []
        try:
            while data:
                out.append(self._obj.decompress(data))
                self._in_frame = not self._obj.eof
                if not self._obj.eof:
                    break
                data = self._obj.unused_data
                self._obj = self._dctx.decompressobj()
        except zstandard.ZstdError as exc:
            raise CorruptPayload(f"zstd stream is corrupt: {exc}") from None
        return b"".join(out)

    def flush(self) -> bytes:
        if self._in_frame:
            raise CorruptPayload("zstd stream ends inside a frame")
        return b""


class _GzipDecompressor:
    """Decodes a sequence of gzip members (RFC 1952 allows several)."""

    def __init__(self):
        self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._in_member = False

    def feed(self, data: bytes) -> bytes:
        out = []
        try:
            while data:
                out.append(self._obj.decompress(data))
                self._in_member = not self._obj.eof
                if not self._obj.eof:
                    break
                data = self._obj.unused_data
                self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        except zlib.error as exc:
            raise CorruptPayload(f"gzip stream is corrupt: {exc}") from None
        return b"".join(out)

    def flush(self) -> bytes:
        if self._in_member:
            raise CorruptPayload("gzip stream ends inside a member")
        return b""


def transcode(source: Encoding, target: Encoding):
    """A stream that re-encodes `source` bytes as `target` (used for mixed chains)."""
    return _Transcoder(source.decompressor(), target.compressor())


class _Transcoder:
    def __init__(self, dec, enc):
        self._dec, self._enc = dec, enc

    def feed(self, data: bytes) -> bytes:
        return self._enc.feed(self._dec.feed(data))

    def flush(self) -> bytes:
        return self._enc.feed(self._dec.flush()) + self._enc.flush()
