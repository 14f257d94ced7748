"""Building signed WKP-1 requests (the engine side, the conformance kit, benches).

Pure: the caller passes the clock reading and the request id, and gets back
the method, path, query and headers to send; the body is the caller's.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from . import names as n
from .codec import Encoding
from .cursor import Cursor
from .headers import Part, PersistHeaders, RestoreQuery
from .signing import EMPTY_BODY, sign_request

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class OutgoingRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


def persist_request(*, secret: str, body: bytes | None = None, body_sha256: str | None = None,
                    now: int, request_id: str, engine: str, tenant: str, instance_id: str,
                    strategy: str, kind: str, cursor_from: Cursor | None, cursor_to: Cursor,
                    encoding: Encoding, version: str = "0.1.0", part: Part | None = None,
                    content_length: int | None = None) -> OutgoingRequest:
    """Headers for POST /persist. Pass `body`, or its sha256 and length when streaming."""
    if body is not None:
        body_sha256 = hashlib.sha256(body).hexdigest()
        content_length = len(body)
    h = PersistHeaders(engine=engine, version=version, tenant=tenant, instance_id=instance_id,
                       strategy=strategy, kind=kind, cursor_from=cursor_from, cursor_to=cursor_to,
                       checksum=body_sha256, timestamp=now, request_id=request_id, signature="",
                       encoding=encoding, part=part)
    signature = sign_request(secret, timestamp=now, request_id=request_id, method="POST",
                             path="/persist", query="",
                             body_sha256=_body_line(body_sha256, content_length))
    headers = replace(h, signature=signature).to_headers()
    if content_length is not None:
        headers["Content-Length"] = str(content_length)
    return OutgoingRequest("POST", "/persist", "", headers)


def _body_line(body_sha256: str | None, length: int | None) -> str:
    """The canonical body line: "-" for an empty body, else its sha256.

    A streamed body may come with its digest but no length (chunked), so only a
    known length of 0, or the digest of no bytes, means empty.
    """
    if not body_sha256 or length == 0 or body_sha256 == _EMPTY_SHA256:
        return EMPTY_BODY
    return body_sha256


def resign(request: OutgoingRequest, *, secret: str, now: int) -> OutgoingRequest:
    """The same request with a fresh timestamp and signature (after a 401)."""
    headers = dict(request.headers)
    headers[n.TIMESTAMP] = str(now)
    length = headers.get("Content-Length")
    body_line = _body_line(headers.get(n.CHECKSUM, "").partition("=")[2],
                           int(length) if length is not None else None)
    headers[n.SIGNATURE] = sign_request(secret, timestamp=now,
                                        request_id=headers.get(n.REQUEST_ID, ""),
                                        method=request.method, path=request.path,
                                        query=request.query, body_sha256=body_line)
    return replace(request, headers=headers)


def restore_request(*, secret: str, now: int, request_id: str, engine: str, tenant: str,
                    instance_id: str, up_to: Cursor | None = None, full_only: bool = False,
                    takeover: bool = False) -> OutgoingRequest:
    query = RestoreQuery(tenant=tenant, engine=engine, up_to=up_to, full_only=full_only,
                         takeover=takeover).to_query()
    headers = {n.PROTOCOL: n.PROTOCOL_VERSION, n.ENGINE: engine, n.TENANT: tenant,
               n.INSTANCE_ID: instance_id, n.TIMESTAMP: str(now), n.REQUEST_ID: request_id}
    headers[n.SIGNATURE] = sign_request(secret, timestamp=now, request_id=request_id,
                                        method="GET", path="/restore", query=query)
    return OutgoingRequest("GET", "/restore", query, headers)


def health_request(*, secret: str, now: int, request_id: str = "") -> OutgoingRequest:
    headers = {n.PROTOCOL: n.PROTOCOL_VERSION, n.TIMESTAMP: str(now)}
    if request_id:
        headers[n.REQUEST_ID] = request_id
    headers[n.SIGNATURE] = sign_request(secret, timestamp=now, request_id=request_id,
                                        method="GET", path="/health", query="")
    return OutgoingRequest("GET", "/health", "", headers)
