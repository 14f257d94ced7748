"""The engine machine's push-round part: cut, send (in parts), classify the answer, retry, buffer.

A round runs between two schedule ticks (or is the final flush): send the
buffered payload first (if retries ran out last tick), then cut one push of
the configured strategy (engine_policy.choose_kind). PUSH_OUTCOMES maps each
status class (engine_policy.classify) to the seed-000 behaviour:
200/202 advance the durable cursor; 400 drops; 401 alerts and re-signs; 409
switches to a full (a full refused with 409 means another writer is ahead:
fenced until the next tick); 413 re-splits at the named limit; 429 and 5xx
back off (cap 60 s) up to MAX_RETRIES attempts, then buffer until next tick.
A shutdown round keeps cutting until every write is acknowledged.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .cursor import Cursor
from .engine_core import EngineCore, Phase
from .engine_events import (Buffer, Cut, Ledger, Log, NetworkError, PayloadBuilt, PayloadFailed,
                            Push, Release, Response, Sigterm, Tick)
from .engine_policy import Outcome, choose_kind, classify, day_index, split
from .engine_shutdown import ShutdownPart
from .headers import Part


@dataclass(slots=True)
class Flight:
    """One payload on its way to the function (possibly split into parts)."""
    token: int
    kind: str
    cursor_from: Cursor | None
    cursor_to: Cursor
    bytes_at_cut: int
    size: int = 0
    ranges: tuple = ()
    part_index: int = 0
    attempts: int = 0
    buffered: bool = False
    cut_at: float = 0.0  # when the round cut it: an ack's took_s (cut to ack, retries included) runs from here

    def describe(self) -> str:
        span = f"{self.cursor_from}..{self.cursor_to}" if self.cursor_from else str(self.cursor_to)
        return f"{self.kind} {span}"


@dataclass(slots=True)
class RoundState:
    flight: Flight | None = None      # the payload being cut or sent
    buffered: Flight | None = None    # kept from a round whose retries ran out
    round: str | None = None          # why the round runs: tick | manual | takeover | shutdown
    last_push: dict | None = None     # the last push's outcome, for /status


class PushRounds:
    __slots__ = ("core", "shutdown", "s")

    def __init__(self, core: EngineCore, shutdown: ShutdownPart):
        self.core, self.shutdown, self.s = core, shutdown, RoundState()

    # ------------------------------------------------------------ starting rounds

    def on_tick(self, ev: Tick, out) -> None:
        if self.core.config.persists and not self.shutdown.s.stopping:
            self.start(ev.reason, ev.now, out)

    def on_busy_tick(self, ev: Tick, out) -> None:
        out.append(Log("debug", f"{ev.reason} tick ignored: a push round is in progress"))

    def on_schedule(self, now: float, out) -> None:
        """The schedule's tick came due (the caller re-armed it)."""
        if self.core.s.phase is Phase.IDLE and not self.shutdown.s.stopping:
            self.start("tick", now, out)
        else:
            out.append(Log("debug", "scheduled tick skipped: a push round is in progress"))

    def on_sigterm(self, ev: Sigterm, out) -> None:
        """SIGTERM while serving turns the current round, or a new one, into the final flush."""
        if self.shutdown.s.stopping:
            return out.append(Log("info", "SIGTERM again: still flushing"))
        if not self.shutdown.begin(ev.now, out):
            return
        c = self.core.s
        if c.phase is Phase.IDLE:
            return self.start("shutdown", ev.now, out)
        self.s.round = "shutdown"
        if c.retry_at is not None:  # keep backing off, but leave room for the attempt itself
            c.retry_at = min(c.retry_at, ev.now + self.core.config.shutdown_budget_s / 4)

    def start(self, reason: str, now: float, out) -> None:
        self.s.round = reason
        self._next_push(now, out)

    def _next_push(self, now: float, out) -> None:
        r, c = self.s, self.core.s
        if r.buffered is not None:
            if self._buffer_still_continues():
                r.flight, r.flight.attempts = r.buffered, 0
                out.append(Log("info", f"sending buffered {r.flight.describe()}"))
                return self.send_part(now, out)
            out.append(Log("info", f"buffered {r.buffered.describe()} is stale; re-cutting"))
            out.append(Release(r.buffered.token))
            r.buffered = None
        s, cfg = c.persisted, self.core.config
        kind = choose_kind(cfg.strategy, s, epoch=s.epoch, lsn=c.lsn, now=now,
                           day_seconds=cfg.day_seconds)
        if kind is None:
            return self._round_done(now, out)
        fl = r.flight = Flight(self.core.token(), kind, s.durable if kind == "delta" else None,
                               Cursor(s.epoch, c.lsn), c.unpushed_bytes, cut_at=now)
        c.phase = Phase.CUTTING
        out.append(Cut(fl.token, kind, fl.cursor_from, fl.cursor_to))

    def _buffer_still_continues(self) -> bool:
        b, s = self.s.buffered, self.core.s.persisted
        if b.cursor_to.epoch != s.epoch:
            return False
        if b.kind == "delta":
            return b.cursor_from == s.durable
        return s.durable is None or b.cursor_to >= s.durable

    # ------------------------------------------------------------ cutting and sending

    def on_built(self, ev: PayloadBuilt, out) -> None:
        fl = self.s.flight
        if fl is None or ev.token != fl.token:
            return out.append(Log("debug", "ignored a stale payload"))
        fl.size = ev.size
        max_payload = self.core.s.persisted.max_payload
        ranges = split(ev.size, max_payload)
        if ranges is None:
            return self._drop(f"{ev.size} bytes need more than 9999 parts of "
                              f"{max_payload}", ev.now, out, alert="too_large")
        fl.ranges = tuple(ranges)
        self.send_part(ev.now, out)

    def on_build_failed(self, ev: PayloadFailed, out) -> None:
        fl = self.s.flight
        if fl is None or ev.token != fl.token:
            return
        out.append(Release(fl.token))
        self.s.flight = None
        if ev.wal_missing and fl.kind == "delta":
            out.append(Log("warning", f"cannot cut {fl.describe()}: {ev.reason}; cutting a full"))
            self.core.save(replace(self.core.s.persisted, force_full=True), out)
            return self._next_push(ev.now, out)
        self._end_round_failed(f"could not build {fl.describe()}: {ev.reason}", ev.now, out)

    def send_part(self, now: float, out) -> None:
        fl = self.s.flight
        fl.attempts += 1
        ranges, index = fl.ranges, fl.part_index
        offset, length = ranges[index]
        part = Part(index + 1, len(ranges)) if len(ranges) > 1 else None
        self.core.s.phase = Phase.PUSHING
        timeout = self.shutdown.attempt_timeout(self.core.config.request_timeout_s, now)
        out.append(Push(fl.token, fl.kind, fl.cursor_from, fl.cursor_to, part, offset, length,
                        fl.attempts, timeout))

    def on_retry_due(self, now: float, out) -> None:
        self.send_part(now, out)

    # ------------------------------------------------------------ answers

    def on_push_answer(self, ev, out) -> None:
        fl = self.s.flight
        if fl is None or ev.token != fl.token:
            return out.append(Log("debug", "ignored a stale push answer"))
        if type(ev) is NetworkError:  # the route sends only Response and NetworkError here
            return self._retry(Outcome.TRANSIENT, None, f"network error: {ev.reason}", ev.now, out)
        PUSH_OUTCOMES[classify(ev.status)](self, ev, out)

    def _why(self, ev: Response) -> str:
        """An answer's status and reason, for logs and alerts (built only when one is written)."""
        return f"{ev.status} for {self.s.flight.describe()}" + (f": {ev.reason}" if ev.reason else "")

    def _stored(self, ev: Response, out) -> None:
        r, c = self.s, self.core.s
        fl = r.flight
        parts = len(fl.ranges)
        if fl.part_index + 1 < parts:
            fl.part_index, fl.attempts = fl.part_index + 1, 0
            return self.send_part(ev.now, out)
        now, kind, cursor_from, cursor_to = ev.now, fl.kind, fl.cursor_from, fl.cursor_to
        full = kind == "full"
        c.persisted = c.persisted.acknowledged(
            cursor_to, full_day=day_index(now, self.core.config.day_seconds) if full else None)
        c.unpushed_bytes = max(0, c.unpushed_bytes - fl.bytes_at_cut)
        took_s = round(max(0.0, now - fl.cut_at), 6)
        # Once per push round: each cursor's text is made once for both records.
        text_to = str(cursor_to)
        r.last_push = {"at": now, "kind": kind, "status": ev.status, "cursor": text_to,
                       "bytes": fl.size, "parts": parts, "took_s": took_s}
        out.append(Ledger("ack", {"at": now, "kind": kind,
                                  "cursor_from": str(cursor_from) if cursor_from else None,
                                  "cursor_to": text_to,
                                  "lsn_from": cursor_from.seq if cursor_from else 0,
                                  "lsn_to": cursor_to.seq, "status": ev.status,
                                  "stored_at": ev.stored_at, "bytes": fl.size,
                                  "parts": parts, "round": r.round,
                                  "cut_at": fl.cut_at, "took_s": took_s}))
        self.core.save(c.persisted, out)
        out.append(Release(fl.token))
        was_buffered, r.flight = fl.buffered, None
        if was_buffered:
            r.buffered = None
        if was_buffered or self.shutdown.s.stopping:
            return self._next_push(now, out)  # then the new writes / drain everything
        self._round_done(now, out)

    def _dropped(self, ev: Response, out) -> None:
        self._drop(f"{self._why(ev)}; dropped, not retried (its writes go in the next push)", ev.now, out)

    def _reauth(self, ev: Response, out) -> None:
        reason = self._why(ev)
        self.core.alert("auth", f"{reason}; retrying with a fresh timestamp", out)
        self._retry(Outcome.REAUTH, None, reason, ev.now, out)

    def _gap(self, ev: Response, out) -> None:
        reason = self._why(ev)
        r = self.s
        fl = r.flight
        out.append(Release(fl.token))
        r.flight = None
        if fl.buffered:
            r.buffered = None
        self.core.save(replace(self.core.s.persisted, force_full=True), out)
        if fl.kind == "delta":
            out.append(Log("warning", f"{reason}; switching to a full"))
            return self._next_push(ev.now, out)
        # A full behind the stored head: another writer holds this instance id.
        self.core.alert("fenced", f"{reason}; another writer is ahead, trying again next tick", out)
        self._end_round_failed(reason, ev.now, out)

    def _too_large(self, ev: Response, out) -> None:
        reason = self._why(ev)
        fl = self.s.flight
        current = fl.ranges[fl.part_index][1]
        limit = ev.max_payload
        ranges = split(fl.size, limit) if limit and limit < current else None
        if ranges is None:
            why = "no usable limit named" if not (limit and limit < current) else "over 9999 parts"
            return self._drop(f"{reason}; cannot split ({why})", ev.now, out, alert="too_large")
        self.core.save(replace(self.core.s.persisted, max_payload=limit), out)
        out.append(Log("info", f"413: splitting {fl.size} bytes into {len(ranges)} parts of "
                               f"at most {limit} bytes"))
        fl.ranges, fl.part_index, fl.attempts = tuple(ranges), 0, 0
        self.send_part(ev.now, out)

    def _throttled(self, ev: Response, out) -> None:
        self._retry(Outcome.THROTTLED, ev.retry_after, self._why(ev), ev.now, out)

    def _transient(self, ev: Response, out) -> None:
        self._retry(Outcome.TRANSIENT, None, self._why(ev), ev.now, out)

    # ------------------------------------------------------------ retries and round ends

    def _retry(self, outcome: Outcome, retry_after, reason: str, now: float, out) -> None:
        fl, cfg = self.s.flight, self.core.config
        if fl.attempts >= cfg.max_attempts:
            return self._exhausted(f"{reason} (attempt {fl.attempts}/{cfg.max_attempts})", now, out)
        delay = self.shutdown.clamp_backoff(self.core.delay(outcome, fl.attempts, retry_after), now)
        out.append(Log("warning", f"{reason}; attempt {fl.attempts + 1}/"
                                  f"{cfg.max_attempts} in {delay:.2f} s"))
        if delay <= 0:
            return self.send_part(now, out)
        c = self.core.s
        c.phase, c.retry_at = Phase.PUSH_WAIT, now + delay

    def _exhausted(self, reason: str, now: float, out) -> None:
        r = self.s
        fl = r.flight
        r.flight = None
        r.last_push = {"at": now, "kind": fl.kind, "status": "failed", "cursor": str(fl.cursor_to),
                       "bytes": fl.size, "parts": len(fl.ranges)}
        if self.shutdown.s.stopping:
            out.append(Release(fl.token))
            return self.shutdown.flush_failed(reason, now, out)
        if fl.buffered:
            out.append(Log("warning", f"{reason}; still buffered until the next tick"))
        elif fl.size <= self.core.config.buffer_bytes:
            fl.buffered, r.buffered = True, fl
            out.append(Buffer(fl.token, fl.size))
            out.append(Log("warning", f"{reason}; buffered {fl.size} bytes until the next tick"))
        else:
            out.append(Release(fl.token))
            out.append(Log("warning", f"{reason}; {fl.size} bytes exceed the buffer bound, "
                                      "the WAL keeps the writes for the next push"))
        self._round_done(now, out)

    def _drop(self, reason: str, now: float, out, alert: str = "dropped") -> None:
        r = self.s
        fl = r.flight
        self.core.alert(alert, reason, out)
        out.append(Release(fl.token))
        out.append(Ledger("dropped", {"at": now, "kind": fl.kind, "cursor_to": str(fl.cursor_to),
                                      "reason": reason}))
        r.last_push = {"at": now, "kind": fl.kind, "status": "dropped",
                       "cursor": str(fl.cursor_to), "bytes": fl.size, "parts": len(fl.ranges)}
        r.flight = None
        if fl.buffered:
            r.buffered = None
        self._end_round_failed(reason, now, out)

    def _end_round_failed(self, reason: str, now: float, out) -> None:
        if self.shutdown.s.stopping:
            return self.shutdown.flush_failed(reason, now, out)
        self._round_done(now, out)

    def _round_done(self, now: float, out) -> None:
        self.core.s.phase, self.s.flight, self.s.round = Phase.IDLE, None, None
        if self.shutdown.s.stopping:
            self.shutdown.flushed(now, out)


PUSH_OUTCOMES = {
    Outcome.STORED: PushRounds._stored,
    Outcome.DROP: PushRounds._dropped,
    Outcome.REAUTH: PushRounds._reauth,
    Outcome.GAP: PushRounds._gap,
    Outcome.SPLIT: PushRounds._too_large,
    Outcome.THROTTLED: PushRounds._throttled,
    Outcome.TRANSIENT: PushRounds._transient,
}
