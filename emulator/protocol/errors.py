"""Protocol errors, each carrying the WKP-1 status a function answers with.

Drivers never choose statuses themselves: they catch ProtocolError and answer
`status_hint` with `reason` (and any `headers`) - one place maps domain errors
to HTTP, as in aiohttp's examples and h11's LocalProtocolError.
"""
from __future__ import annotations


class ProtocolError(Exception):
    status_hint = 400

    def __init__(self, reason: str, *, header: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.header = header  # the offending header, when one is to blame
        self.headers = dict(headers or {})

    def to_json(self) -> dict:
        body = {"error": type(self).__name__, "reason": self.reason}
        if self.header:
            body["header"] = self.header
        return body


class MalformedRequest(ProtocolError):
    """400: the request can never succeed as sent; engines log and drop it."""
    status_hint = 400


class AuthenticationFailed(ProtocolError):
    """401: bad signature or expired timestamp; engines retry with a fresh one."""
    status_hint = 401


class CursorConflict(ProtocolError):
    """409: the push does not continue the stored chain (a gap, or a fenced writer)."""
    status_hint = 409


class PayloadTooLarge(ProtocolError):
    """413: over the function's limit; engines split and retry."""
    status_hint = 413

    def __init__(self, reason: str, *, max_payload: int | None = None, **kwargs):
        super().__init__(reason, **kwargs)
        self.max_payload = max_payload

    def to_json(self) -> dict:
        body = super().to_json()
        if self.max_payload is not None:
            body["max_payload"] = self.max_payload
        return body


class Throttled(ProtocolError):
    """429: over the concurrency limit; engines honour Retry-After."""
    status_hint = 429


class StoreUnavailable(ProtocolError):
    """503: the backing store cannot be reached; engines retry, then buffer."""
    status_hint = 503


class ChainGap(ProtocolError):
    """The stored chain is not contiguous, so no honest restore exists.

    Restores answer 409 with the precise cursors; `restorable` is the last
    cursor that can be restored, which a caller may ask for explicitly.
    """
    status_hint = 409

    def __init__(self, reason: str, *, restorable=None, next_from=None):
        super().__init__(reason)
        self.restorable = restorable
        self.next_from = next_from

    def to_json(self) -> dict:
        body = super().to_json()
        body["restorable_cursor"] = str(self.restorable) if self.restorable else None
        body["next_delta_from"] = str(self.next_from) if self.next_from else None
        return body
