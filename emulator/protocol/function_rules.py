"""The function's decisions: accept a push, or which status and why.

A persist passes three gates, in this order, each pure:

1. `admit_persist` before reading the body: concurrency (429) first, then
   protocol and headers (400), signature format and timestamp freshness (401),
   declared size (413). Nothing large is read for a request that is doomed.
2. `check_body` after streaming it: the size if the body was chunked (413),
   the signature over the body digest (401), then X-WeftKit-Checksum against
   the same digest (400). Signature first: a body damaged in transit fails
   the signature, and 401 makes the engine retry; only a client that signed
   one thing and declared another checksum gets the non-retryable 400.
3. `decide_chain` against what the instance has stored: store, answer as a
   duplicate, or refuse with 409 (chain_rules.py, with the re-checks a warm
   cache needs before a 409 and the warm digest's rules).

The driver stores only after gate 2 passes, and commits (completes the
multipart upload, or writes the single object) only then, so a refused or
cut-off push leaves nothing a restore could return.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .chain_rules import ChainAction, Stored, decide_chain, stored_response
from .errors import MalformedRequest, PayloadTooLarge, Throttled
from .headers import PersistHeaders
from . import names
from .signing import SignedRequest, check_freshness, check_signature_format, verify_mac

DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_payload: int = DEFAULT_MAX_PAYLOAD
    max_inflight: int = 256
    retry_after_s: int = 1
    max_skew_s: int = 300


def admit_persist(headers: Mapping[str, str], *, now: float, inflight: int,
                  limits: Limits) -> PersistHeaders:
    """Gate 1. `inflight` counts requests in progress, this one excluded."""
    check_concurrency(inflight, limits)
    h = PersistHeaders.from_headers(headers)
    check_signature_format(h.signature)
    check_freshness(h.timestamp, now, limits.max_skew_s)
    if h.content_length is not None and h.content_length > limits.max_payload:
        raise too_large(h.content_length, limits.max_payload)
    return h


def check_concurrency(inflight: int, limits: Limits) -> None:
    """429 before anything else: a throttled request costs the function nothing."""
    if inflight >= limits.max_inflight:
        raise Throttled(f"{inflight} requests in flight, limit {limits.max_inflight}",
                        headers={"Retry-After": str(limits.retry_after_s)})


def too_large(size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"payload of {size} bytes exceeds the {limit}-byte limit; split it",
                           max_payload=limit, headers={names.MAX_PAYLOAD: str(limit)})


def check_body(h: PersistHeaders, *, secret: str, path: str, query: str,
               body_sha256: str, body_length: int, limits: Limits) -> None:
    """Gate 2, once the whole body has been read and hashed."""
    if body_length > limits.max_payload:
        raise too_large(body_length, limits.max_payload)
    signed = SignedRequest("POST", path, query, str(h.timestamp), h.request_id,
                           body_sha256, h.signature)
    verify_mac(secret, signed)
    if body_length == 0:
        raise MalformedRequest("empty body: a snapshot has at least a frame header")
    if h.checksum != body_sha256:
        raise MalformedRequest(f"{names.CHECKSUM} does not match the body's sha256",
                               header=names.CHECKSUM)
    if h.content_length is not None and h.content_length != body_length:
        raise MalformedRequest("body length differs from Content-Length", header="Content-Length")


# Gate 3 is the chain rules' (chain_rules.py); named here too, as the third gate.
__all__ = ["Limits", "admit_persist", "check_concurrency", "too_large", "check_body",
           "ChainAction", "Stored", "decide_chain", "stored_response", "DEFAULT_MAX_PAYLOAD"]
