"""Reading a persist body: hash as it streams, enforce the limit, verify at the end.

The verification runs when the stream ends, inside the generator, so a store's
put_stream only commits a body that passed it (see emulator/store/s3.py).
"""
from __future__ import annotations

import hashlib

from emulator.protocol import function_rules as rules
from emulator.protocol.headers import PersistHeaders
from emulator.protocol.signing import digest_of

READ_CHUNK = 1024 * 1024


class PersistBody:
    def __init__(self, request, h: PersistHeaders, *, secret: str, limits: rules.Limits,
                 chain_hasher=None):
        self._request, self._h, self._secret, self._limits = request, h, secret, limits
        self.hasher = hashlib.sha256()
        self.chain_hasher = chain_hasher  # a copy of the instance's chain digest, extended too
        self.length = 0

    async def chunks(self):
        """The body's bytes; raises a ProtocolError at the end if it does not verify."""
        async for chunk in self._request.content.iter_chunked(READ_CHUNK):
            self.length += len(chunk)
            if self.length > self._limits.max_payload:
                raise rules.too_large(self.length, self._limits.max_payload)
            self.hasher.update(chunk)
            if self.chain_hasher is not None:
                self.chain_hasher.update(chunk)
            yield chunk
        self.verify()

    def verify(self) -> None:
        rules.check_body(self._h, secret=self._secret, path=self._request.path,
                         query=self._request.rel_url.raw_query_string,
                         body_sha256=digest_of(self.hasher, self.length),
                         body_length=self.length, limits=self._limits)

    async def drain(self) -> None:
        """Read and verify without keeping anything (duplicates and refusals)."""
        async for _ in self.chunks():
            pass
