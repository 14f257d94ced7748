"""A small signed WKP-1 client for tests: real HTTP through aiohttp."""
from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass

from emulator.protocol import signed_requests as sr
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.headers import Part


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    def json(self):
        import json
        return json.loads(self.body)


class WkpClient:
    def __init__(self, session, endpoint: str, secret: str, *, tenant="default",
                 engine="relational", instance_id=None, clock=time.time):
        self.session, self.endpoint, self.secret = session, endpoint, secret
        self.tenant, self.engine = tenant, engine
        self.instance_id = instance_id or f"i-{uuid.uuid4().hex[:10]}"
        self.clock = clock
        self._ids = itertools.count(1)

    def request_id(self) -> str:
        return f"req-{uuid.uuid4().hex[:8]}-{next(self._ids)}"

    def persist_request(self, body: bytes, kind: str, to: Cursor, frm: Cursor | None = None, *,
                        encoding=Encoding.ZSTD, request_id=None, part: Part | None = None,
                        instance_id=None, now=None, strategy="incremental"):
        return sr.persist_request(
            secret=self.secret, body=body, now=int(now if now is not None else self.clock()),
            request_id=request_id or self.request_id(), engine=self.engine, tenant=self.tenant,
            instance_id=instance_id or self.instance_id, strategy=strategy, kind=kind,
            cursor_from=frm, cursor_to=to, encoding=encoding, part=part)

    async def send(self, request, body: bytes | None = None, headers: dict | None = None) -> Reply:
        hdrs = dict(request.headers)
        hdrs.update(headers or {})
        async with self.session.request(request.method, self.endpoint + request.target,
                                        data=body, headers=hdrs) as resp:
            return Reply(resp.status, dict(resp.headers), await resp.read())

    async def persist(self, body: bytes, kind: str, to: Cursor, frm: Cursor | None = None, **kw) -> Reply:
        return await self.send(self.persist_request(body, kind, to, frm, **kw), body)

    async def restore(self, *, instance_id=None, up_to=None, full_only=False, takeover=False) -> Reply:
        req = sr.restore_request(secret=self.secret, now=int(self.clock()),
                                 request_id=self.request_id(), engine=self.engine,
                                 tenant=self.tenant, instance_id=instance_id or self.instance_id,
                                 up_to=up_to, full_only=full_only, takeover=takeover)
        return await self.send(req)

    async def health(self) -> Reply:
        return await self.send(sr.health_request(secret=self.secret, now=int(self.clock())))
