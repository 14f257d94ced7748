"""Push rounds: cut, send (in parts), classify the answer, retry, buffer.

The half of EngineMachine that runs between two schedule ticks (or during the
final flush). It reads and writes the machine's fields; engine_machine.py
routes events here through its TRANSITIONS table, and PUSH_OUTCOMES maps each
status class (engine_policy.classify) to the seed-000 behaviour:
200/202 advance the durable cursor; 400 drops; 401 alerts and re-signs; 409
switches to a full (a full refused with 409 means another writer is ahead:
fenced until the next tick); 413 re-splits at the named limit; 429 and 5xx
back off (cap 60 s) up to MAX_RETRIES attempts, then buffer until next tick.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from .cursor import Cursor
from .engine_events import (Buffer, Cut, Ledger, Log, NetworkError, PayloadBuilt, PayloadFailed,
                            Push, Release, Response, Save)
from .engine_policy import Outcome, choose_kind, classify, day_index, retry_delay, split
from .headers import Part

EXIT_OK, EXIT_FLUSH_INCOMPLETE, EXIT_RESTORE_FAILED = 0, 3, 4


class Phase(enum.Enum):
    BOOTING = "booting"
    RESTORING = "restoring"
    RESTORE_WAIT = "restore_wait"
    IDLE = "idle"
    CUTTING = "cutting"
    PUSHING = "pushing"
    PUSH_WAIT = "push_wait"
    EXITED = "exited"


@dataclass
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



class PushRounds:
    """The push-round half of EngineMachine (see its theory of operation)."""

    def _start_round(self, reason: str, now: float, out) -> None:
        self.round = reason
        self._next_push(now, out)

    def _next_push(self, now: float, out) -> None:
        if self.buffered is not None:
            if self._buffer_still_continues():
                self.flight, self.flight.attempts = self.buffered, 0
                out.append(Log("info", f"sending buffered {self.flight.describe()}"))
                return self._send_part(now, out)
            out.append(Log("info", f"buffered {self.buffered.describe()} is stale; re-cutting"))
            out.append(Release(self.buffered.token))
            self.buffered = None
        s = self.state
        kind = choose_kind(self.config.strategy, s, epoch=s.epoch, lsn=self.lsn, now=now,
                           day_seconds=self.config.day_seconds)
        if kind is None:
            return self._round_done(now, out)
        self.flight = Flight(next(self._tokens), kind, s.durable if kind == "delta" else None,
                             Cursor(s.epoch, self.lsn), self.unpushed_bytes, cut_at=now)
        self.phase = Phase.CUTTING
        out.append(Cut(self.flight.token, kind, self.flight.cursor_from, self.flight.cursor_to))

    def _buffer_still_continues(self) -> bool:
        b, durable = self.buffered, self.state.durable
        if b.cursor_to.epoch != self.state.epoch:
            return False
        if b.kind == "delta":
            return b.cursor_from == durable
        return durable is None or b.cursor_to >= durable

    def _on_built(self, ev: PayloadBuilt, out) -> None:
        fl = self.flight
        if fl is None or ev.token != fl.token:
            return out.append(Log("debug", "ignored a stale payload"))
        fl.size = ev.size
        ranges = split(ev.size, self.state.max_payload)
        if ranges is None:
            return self._drop(f"{ev.size} bytes need more than 9999 parts of "
                              f"{self.state.max_payload}", ev.now, out, alert="too_large")
        fl.ranges = tuple(ranges)
        self._send_part(ev.now, out)

    def _on_build_failed(self, ev: PayloadFailed, out) -> None:
        fl = self.flight
        if fl is None or ev.token != fl.token:
            return
        out.append(Release(fl.token))
        self.flight = None
        if ev.wal_missing and fl.kind == "delta":
            out.append(Log("warning", f"cannot cut {fl.describe()}: {ev.reason}; cutting a full"))
            self.state = replace(self.state, force_full=True)
            out.append(Save(self.state))
            return self._next_push(ev.now, out)
        self._end_round_failed(f"could not build {fl.describe()}: {ev.reason}", ev.now, out)

    def _send_part(self, now: float, out) -> None:
        fl = self.flight
        fl.attempts += 1
        offset, length = fl.ranges[fl.part_index]
        part = Part(fl.part_index + 1, len(fl.ranges)) if len(fl.ranges) > 1 else None
        self.phase = Phase.PUSHING
        timeout = self.config.request_timeout_s
        if self.stopping:
            timeout = max(0.05, min(timeout, self.stop_deadline - now))
        out.append(Push(fl.token, fl.kind, fl.cursor_from, fl.cursor_to, part, offset, length,
                        fl.attempts, timeout))

    def _on_push_answer(self, ev, out) -> None:
        fl = self.flight
        if fl is None or ev.token != fl.token:
            return out.append(Log("debug", "ignored a stale push answer"))
        if isinstance(ev, NetworkError):
            return self._retry(Outcome.TRANSIENT, None, f"network error: {ev.reason}", ev.now, out)
        outcome = classify(ev.status)
        reason = f"{ev.status} for {fl.describe()}" + (f": {ev.reason}" if ev.reason else "")
        PUSH_OUTCOMES[outcome](self, ev, reason, out)

    def _stored(self, ev: Response, reason: str, out) -> None:
        fl = self.flight
        if fl.part_index + 1 < len(fl.ranges):
            fl.part_index, fl.attempts = fl.part_index + 1, 0
            return self._send_part(ev.now, out)
        s = self.state
        full = fl.kind == "full"
        self.state = replace(s, durable=fl.cursor_to, force_full=s.force_full and not full,
                             last_full_day=day_index(ev.now, self.config.day_seconds) if full
                             else s.last_full_day)
        self.unpushed_bytes = max(0, self.unpushed_bytes - fl.bytes_at_cut)
        took_s = round(max(0.0, ev.now - fl.cut_at), 6)
        self.last_push = {"at": ev.now, "kind": fl.kind, "status": ev.status,
                          "cursor": str(fl.cursor_to), "bytes": fl.size, "parts": len(fl.ranges),
                          "took_s": took_s}
        out.append(Ledger("ack", {"at": ev.now, "kind": fl.kind,
                                  "cursor_from": str(fl.cursor_from) if fl.cursor_from else None,
                                  "cursor_to": str(fl.cursor_to),
                                  "lsn_from": fl.cursor_from.seq if fl.cursor_from else 0,
                                  "lsn_to": fl.cursor_to.seq, "status": ev.status,
                                  "stored_at": ev.stored_at, "bytes": fl.size,
                                  "parts": len(fl.ranges), "round": self.round,
                                  "cut_at": fl.cut_at, "took_s": took_s}))
        out.append(Save(self.state))
        out.append(Release(fl.token))
        was_buffered, self.flight = fl.buffered, None
        if was_buffered:
            self.buffered = None
        if was_buffered or self.stopping:
            return self._next_push(ev.now, out)  # then the new writes / drain everything
        self._round_done(ev.now, out)

    def _dropped(self, ev: Response, reason: str, out) -> None:
        self._drop(f"{reason}; dropped, not retried (its writes go in the next push)", ev.now, out)

    def _reauth(self, ev: Response, reason: str, out) -> None:
        self._alert("auth", f"{reason}; retrying with a fresh timestamp", out)
        self._retry(Outcome.REAUTH, None, reason, ev.now, out)

    def _gap(self, ev: Response, reason: str, out) -> None:
        fl = self.flight
        out.append(Release(fl.token))
        self.flight = None
        if fl.buffered:
            self.buffered = None
        self.state = replace(self.state, force_full=True)
        out.append(Save(self.state))
        if fl.kind == "delta":
            out.append(Log("warning", f"{reason}; switching to a full"))
            return self._next_push(ev.now, out)
        # A full behind the stored head: another writer holds this instance id.
        self._alert("fenced", f"{reason}; another writer is ahead, trying again next tick", out)
        self._end_round_failed(reason, ev.now, out)

    def _too_large(self, ev: Response, reason: str, out) -> None:
        fl = self.flight
        current = fl.ranges[fl.part_index][1]
        limit = ev.max_payload
        ranges = split(fl.size, limit) if limit and limit < current else None
        if ranges is None:
            why = "no usable limit named" if not (limit and limit < current) else "over 9999 parts"
            return self._drop(f"{reason}; cannot split ({why})", ev.now, out, alert="too_large")
        self.state = replace(self.state, max_payload=limit)
        out.append(Save(self.state))
        out.append(Log("info", f"413: splitting {fl.size} bytes into {len(ranges)} parts of "
                               f"at most {limit} bytes"))
        fl.ranges, fl.part_index, fl.attempts = tuple(ranges), 0, 0
        self._send_part(ev.now, out)

    def _throttled(self, ev: Response, reason: str, out) -> None:
        self._retry(Outcome.THROTTLED, ev.retry_after, reason, ev.now, out)

    def _transient(self, ev: Response, reason: str, out) -> None:
        self._retry(Outcome.TRANSIENT, None, reason, ev.now, out)

    def _retry(self, outcome: Outcome, retry_after, reason: str, now: float, out) -> None:
        fl = self.flight
        if fl.attempts >= self.config.max_attempts:
            return self._exhausted(f"{reason} (attempt {fl.attempts}/{self.config.max_attempts})",
                                   now, out)
        delay = self._delay(outcome, fl.attempts, retry_after)
        if self.stopping:  # the budget is hard: leave room for this attempt and a few more
            delay = min(delay, max((self.stop_deadline - now) / 4, self.config.backoff_base_s))
        out.append(Log("warning", f"{reason}; attempt {fl.attempts + 1}/"
                                  f"{self.config.max_attempts} in {delay:.2f} s"))
        if delay <= 0:
            return self._send_part(now, out)
        self.phase, self.retry_at = Phase.PUSH_WAIT, now + delay

    def _delay(self, outcome: Outcome, attempt: int, retry_after) -> float:
        cfg = self.config
        return retry_delay(outcome, attempt, retry_after, base=cfg.backoff_base_s,
                           cap=cfg.backoff_cap_s, rng=self.rng)

    def _exhausted(self, reason: str, now: float, out) -> None:
        fl = self.flight
        self.flight = None
        self.last_push = {"at": now, "kind": fl.kind, "status": "failed", "cursor": str(fl.cursor_to),
                          "bytes": fl.size, "parts": len(fl.ranges)}
        if self.stopping:
            out.append(Release(fl.token))
            return self._flush_failed(reason, now, out)
        if fl.buffered:
            out.append(Log("warning", f"{reason}; still buffered until the next tick"))
        elif fl.size <= self.config.buffer_bytes:
            fl.buffered, self.buffered = True, fl
            out.append(Buffer(fl.token, fl.size))
            out.append(Log("warning", f"{reason}; buffered {fl.size} bytes until the next tick"))
        else:
            out.append(Release(fl.token))
            out.append(Log("warning", f"{reason}; {fl.size} bytes exceed the buffer bound, "
                                      "the WAL keeps the writes for the next push"))
        self._round_done(now, out)

    def _drop(self, reason: str, now: float, out, alert: str = "dropped") -> None:
        fl = self.flight
        self._alert(alert, reason, out)
        out.append(Release(fl.token))
        out.append(Ledger("dropped", {"at": now, "kind": fl.kind, "cursor_to": str(fl.cursor_to),
                                      "reason": reason}))
        self.last_push = {"at": now, "kind": fl.kind, "status": "dropped",
                          "cursor": str(fl.cursor_to), "bytes": fl.size, "parts": len(fl.ranges)}
        self.flight = None
        if fl.buffered:
            self.buffered = None
        self._end_round_failed(reason, now, out)

    def _end_round_failed(self, reason: str, now: float, out) -> None:
        if self.stopping:
            return self._flush_failed(reason, now, out)
        self._round_done(now, out)

    def _round_done(self, now: float, out) -> None:
        self.phase, self.flight, self.round = Phase.IDLE, None, None
        if self.stopping:
            d = self.state.durable
            out.append(Ledger("exit", {"at": now, "flushed": True, "cursor": str(d) if d else None,
                                       "lsn": self.lsn}))
            self._exit(EXIT_OK, f"final flush complete at {d}" if d else "nothing to flush", out)


PUSH_OUTCOMES = {
    Outcome.STORED: PushRounds._stored,
    Outcome.DROP: PushRounds._dropped,
    Outcome.REAUTH: PushRounds._reauth,
    Outcome.GAP: PushRounds._gap,
    Outcome.SPLIT: PushRounds._too_large,
    Outcome.THROTTLED: PushRounds._throttled,
    Outcome.TRANSIENT: PushRounds._transient,
}

