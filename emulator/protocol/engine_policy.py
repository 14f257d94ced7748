"""The engine's policies as pure functions: what a status means, how long to
back off, which snapshot kind to cut, how to split, and how to read a response.

engine_machine.py sequences these; keeping them apart lets a test (or the
SimPy model) check each rule on its own, and keeps the machine a table.
"""
from __future__ import annotations

import enum
import json
import math
import random
from email.utils import parsedate_to_datetime
from typing import Mapping

from . import names
from .cursor import Cursor, CursorError
from .engine_events import PersistState, Response

MAX_PARTS = 9999  # X-WeftKit-Part allows i/n up to 9999


class Outcome(enum.Enum):
    STORED = "stored"          # 200, 202: advance the cursor
    DROP = "drop"              # 400 (and other 4xx): log, never retry
    REAUTH = "reauth"          # 401: alert, retry with a fresh timestamp
    GAP = "gap"                # 409: push a full
    SPLIT = "split"            # 413: split with the named limit
    THROTTLED = "throttled"    # 429: Retry-After and back-off
    TRANSIENT = "transient"    # 5xx, network: back-off, then buffer

    # Members are singletons compared by identity; hashing by identity in C keeps the
    # machine's per-answer PUSH_OUTCOMES lookup off Enum.__hash__ (a Python call).
    __hash__ = object.__hash__


_BY_STATUS = {200: Outcome.STORED, 202: Outcome.STORED, 400: Outcome.DROP, 401: Outcome.REAUTH,
              409: Outcome.GAP, 413: Outcome.SPLIT, 429: Outcome.THROTTLED}


def classify(status: int) -> Outcome:
    """Seed 000's table; statuses it does not name follow their class: every
    5xx is transient; other 4xx can never succeed as sent, so they drop like
    400; and so do 1xx/3xx and 2xx other than 200/202, which the contract does
    not define as "stored" - the engine does not advance its cursor on an
    answer it cannot trust, alerts, and its writes go in the next push."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return Outcome.TRANSIENT if status >= 500 else Outcome.DROP


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential back-off with "equal jitter": base * 2^(attempt-1), capped, then
    a random point in its upper half, so retries of many engines spread out
    while each still waits at least half the nominal delay. Never above cap."""
    nominal = min(cap, base * (2 ** max(0, attempt - 1)))
    return rng.uniform(nominal / 2, nominal)


def retry_delay(outcome: Outcome, attempt: int, retry_after: float | None, *, base: float,
                cap: float, rng: random.Random) -> float:
    if outcome is Outcome.REAUTH and attempt == 1:
        return 0.0  # a stale timestamp is cured by re-signing now; no reason to wait
    delay = backoff_delay(attempt, base=base, cap=cap, rng=rng)
    if outcome is Outcome.THROTTLED and retry_after is not None:
        delay = max(delay, retry_after)  # honour Retry-After even beyond the cap
    return delay


def day_index(now: float, day_seconds: int) -> int:
    return int(now // day_seconds)


def choose_kind(strategy: str, state: PersistState, *, epoch: int, lsn: int, now: float,
                day_seconds: int) -> str | None:
    """full | delta | None (nothing to push).

    A full when the strategy is `full`, when nothing was acknowledged yet, after
    a 409 or a dropped WAL (force_full), when the epoch moved on (deltas cannot
    cross epochs), and for `incremental` once per day (day = day_seconds, an
    emulator knob; UTC days by default). Otherwise a delta of the writes since
    the durable cursor. No writes since the durable cursor: nothing to push,
    unless a forced full must still be stored (after a takeover, for example).
    """
    durable = state.durable
    if state.force_full:
        return "full"
    if durable is None:
        return "full" if lsn > 0 else None
    if durable.epoch != epoch:
        return "full"
    if durable.seq >= lsn:
        return None
    if strategy == "full":
        return "full"
    if strategy == "incremental" and state.last_full_day != day_index(now, day_seconds):
        return "full"
    return "delta"


def split(size: int, max_payload: int | None) -> list[tuple[int, int]] | None:
    """Byte ranges of at most max_payload each; [(0, size)] when it fits; None
    when it would need more than MAX_PARTS parts (no legal split exists)."""
    if not max_payload or size <= max_payload:
        return [(0, size)]
    count = math.ceil(size / max_payload)
    if count > MAX_PARTS:
        return None
    return [(i * max_payload, min(max_payload, size - i * max_payload)) for i in range(count)]


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After is delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _json(body: bytes) -> dict:
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def response_from_http(token: int, now: float, status: int, headers: Mapping[str, str],
                       body: bytes) -> Response:
    """Reduce an HTTP answer to the Response event the machine decides on."""
    data = _json(body)
    limit = _header(headers, names.MAX_PAYLOAD) or data.get("max_payload")
    try:
        max_payload = int(limit) if limit is not None else None
    except (TypeError, ValueError):
        max_payload = None
    cursor = None
    if isinstance(data.get("cursor"), str):
        try:
            cursor = Cursor.parse(data["cursor"])
        except CursorError:
            cursor = None
    stored_at = data.get("stored_at")
    reason = data.get("reason") or data.get("error") or ""
    if not reason and status >= 300:
        reason = (body or b"")[:200].decode("utf-8", "replace")
    return Response(token=token, now=now, status=status,
                    retry_after=parse_retry_after(_header(headers, "Retry-After"), now),
                    max_payload=max_payload, cursor=cursor,
                    stored_at=float(stored_at) if isinstance(stored_at, (int, float)) else None,
                    reason=str(reason))
