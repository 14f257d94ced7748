"""WKP-1 request signing: the canonical string and HMAC-SHA256.

Canonical string (seed 000), lines joined by "\\n", no trailing newline:

    v1
    {X-WeftKit-Timestamp}
    {X-WeftKit-Request-Id}      "" when the request has none (GET /health)
    {METHOD}                    upper case
    {PATH + "?" + QUERY}        raw query as sent; "/persist?" when empty
    {sha256(body) hex or "-" for an empty body}

Decisions (docs/protocol-decisions.md): signers always emit the literal
`PATH + "?" + QUERY`, so an empty query gives "/persist?". Verifiers also
accept the form without "?" for an empty query, because both spell the same
request and rejecting one would only punish a signer that strips a trailing
"?"; nothing else is normalised. The body digest is over the bytes as sent
(after compression).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from .errors import AuthenticationFailed, MalformedRequest

SCHEME = "v1"
MAX_SKEW_SECONDS = 300
EMPTY_BODY = "-"


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest() if body else EMPTY_BODY


def digest_of(hasher, length: int) -> str:
    """The canonical body line from a running sha256 hasher and the byte count."""
    return hasher.hexdigest() if length else EMPTY_BODY


def target_line(path: str, query: str) -> str:
    return f"{path}?{query}"


def canonical_string(*, timestamp: str, request_id: str, method: str,
                     path: str, query: str, body_sha256: str) -> str:
    return "\n".join([SCHEME, timestamp, request_id, method.upper(),
                      target_line(path, query), body_sha256])


def sign(secret: str, canonical: str) -> str:
    mac = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return f"{SCHEME}={mac}"


@dataclass(frozen=True)
class SignedRequest:
    """What a verifier needs from a request, already extracted from I/O."""
    method: str
    path: str
    query: str
    timestamp: str
    request_id: str
    body_sha256: str
    signature: str

    def canonical(self, *, with_question_mark: bool = True) -> str:
        target = target_line(self.path, self.query) if with_question_mark else self.path
        return "\n".join([SCHEME, self.timestamp, self.request_id, self.method.upper(),
                          target, self.body_sha256])


def sign_request(secret: str, *, timestamp: int | str, request_id: str, method: str,
                 path: str, query: str = "", body_sha256: str = EMPTY_BODY) -> str:
    return sign(secret, canonical_string(timestamp=str(timestamp), request_id=request_id,
                                         method=method, path=path, query=query,
                                         body_sha256=body_sha256))


def parse_timestamp(value: str | None) -> int:
    if value is None or value == "":
        raise MalformedRequest("missing X-WeftKit-Timestamp", header="X-WeftKit-Timestamp")
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise MalformedRequest(f"X-WeftKit-Timestamp {value!r} is not unix seconds",
                               header="X-WeftKit-Timestamp")
    # One spelling per value: verifiers rebuild the canonical line as str(int),
    # so "01711999200" would pass here and then fail the signature with a
    # misleading 401 that no retry can fix.
    if len(value) > 1 and value[0] == "0":
        raise MalformedRequest(f"X-WeftKit-Timestamp {value!r} has a leading zero",
                               header="X-WeftKit-Timestamp")
    return int(value)


def check_freshness(timestamp: int, now: float, max_skew: int = MAX_SKEW_SECONDS) -> None:
    """Reject a timestamp more than `max_skew` seconds from `now`, either way."""
    skew = timestamp - now
    if abs(skew) > max_skew:
        raise AuthenticationFailed(
            f"timestamp skew {skew:+.0f}s exceeds ±{max_skew}s", header="X-WeftKit-Timestamp")


def check_signature_format(signature: str | None) -> None:
    if not signature:
        raise AuthenticationFailed("missing X-WeftKit-Signature", header="X-WeftKit-Signature")
    scheme, _, mac = signature.partition("=")
    if scheme != SCHEME or len(mac) != 64 or any(c not in "0123456789abcdefABCDEF" for c in mac):
        raise AuthenticationFailed("X-WeftKit-Signature is not v1=<64 hex digits>",
                                   header="X-WeftKit-Signature")


def verify(secret: str, request: SignedRequest, now: float,
           max_skew: int = MAX_SKEW_SECONDS) -> None:
    """Raise AuthenticationFailed unless the request is fresh and correctly signed.

    Compares in constant time (hmac.compare_digest) against every accepted
    canonical form, so timing reveals nothing about which form nearly matched.
    """
    check_signature_format(request.signature)
    check_freshness(parse_timestamp(request.timestamp), now, max_skew)
    verify_mac(secret, request)


def verify_mac(secret: str, request: SignedRequest) -> None:
    """The signature check alone: used after a long upload whose timestamp was
    fresh on arrival, so that a slow body is not refused for taking its time."""
    check_signature_format(request.signature)
    forms = [request.canonical()]
    if request.query == "":
        forms.append(request.canonical(with_question_mark=False))
    # The seed says only <hex>: accept either case, compare lower-cased.
    presented = SCHEME + "=" + request.signature.partition("=")[2].lower()
    ok = False
    for form in forms:
        ok |= hmac.compare_digest(sign(secret, form), presented)
    if not ok:
        raise AuthenticationFailed("signature does not match the canonical string",
                                   header="X-WeftKit-Signature")
