"""The engine's pure policies: status classes, back-off, strategy, splitting,
response reduction, and the seconds-resolution schedule."""
from __future__ import annotations

import random

import pytest

from emulator.protocol.cursor import Cursor
from emulator.protocol.engine_events import PersistState
from emulator.protocol.engine_policy import (Outcome, backoff_delay, choose_kind, classify,
                                             parse_retry_after, response_from_http, retry_delay,
                                             split)
from emulator.protocol.schedule import Schedule, ScheduleError


@pytest.mark.parametrize("status,outcome", [
    (200, Outcome.STORED), (202, Outcome.STORED), (400, Outcome.DROP), (401, Outcome.REAUTH),
    (409, Outcome.GAP), (413, Outcome.SPLIT), (429, Outcome.THROTTLED), (500, Outcome.TRANSIENT),
    (503, Outcome.TRANSIENT), (404, Outcome.DROP), (302, Outcome.DROP), (201, Outcome.DROP)])
def test_status_classes_follow_the_seed_table(status, outcome):
    assert classify(status) is outcome


def test_backoff_doubles_and_never_exceeds_the_cap():
    rng = random.Random(3)
    delays = [backoff_delay(a, base=1.0, cap=60.0, rng=rng) for a in range(1, 12)]
    for attempt, delay in enumerate(delays, start=1):
        nominal = min(60.0, 2 ** (attempt - 1))
        assert nominal / 2 <= delay <= nominal
    assert max(delays) <= 60.0


def test_retry_after_wins_when_longer_and_401_retries_at_once():
    rng = random.Random(1)
    assert retry_delay(Outcome.THROTTLED, 1, 90.0, base=1, cap=60, rng=rng) == 90.0
    assert retry_delay(Outcome.REAUTH, 1, None, base=1, cap=60, rng=rng) == 0.0
    assert retry_delay(Outcome.REAUTH, 2, None, base=1, cap=60, rng=rng) > 0


def test_retry_after_forms():
    assert parse_retry_after("5", 0) == 5.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40.0) == 60.0
    assert parse_retry_after("soon", 0) is None and parse_retry_after(None, 0) is None


DAY = 100


def kind(strategy, durable=None, lsn=5, now=150, epoch=0, **state):
    return choose_kind(strategy, PersistState(durable=durable, epoch=epoch, **state), epoch=epoch,
                       lsn=lsn, now=now, day_seconds=DAY)


def test_choose_kind():
    c = Cursor(0, 3)
    assert kind("delta") == "full"                               # nothing acknowledged yet
    assert kind("delta", lsn=0) is None                          # and nothing written
    assert kind("delta", c) == "delta"
    assert kind("delta", Cursor(0, 5)) is None                   # no new writes
    assert kind("full", c) == "full"
    assert kind("incremental", c, last_full_day=1) == "delta"    # today's full exists
    assert kind("incremental", c, last_full_day=0) == "full"     # a new day
    assert kind("incremental", Cursor(0, 5), last_full_day=0) is None  # new day, no writes
    assert kind("delta", c, force_full=True) == "full"
    assert kind("delta", Cursor(0, 5), force_full=True) == "full"  # forced even without writes
    assert choose_kind("delta", PersistState(durable=c, epoch=1), epoch=1, lsn=5, now=0,
                       day_seconds=DAY) == "full"                # deltas never cross epochs


def test_split():
    assert split(10, None) == [(0, 10)] and split(10, 10) == [(0, 10)]
    assert split(25, 10) == [(0, 10), (10, 10), (20, 5)]
    assert split(10**6, 10) is None  # more than 9999 parts


def test_response_reduction():
    r = response_from_http(3, 0.0, 413, {"x-weftkit-max-payload": "1000"}, b'{"reason":"big"}')
    assert (r.token, r.status, r.max_payload, r.reason) == (3, 413, 1000, "big")
    r = response_from_http(3, 0.0, 413, {}, b'{"max_payload": 77}')
    assert r.max_payload == 77
    r = response_from_http(1, 0.0, 200, {}, b'{"cursor":"wkc_0001_0024","stored_at":17}')
    assert r.cursor == Cursor(1, 24) and r.stored_at == 17.0
    r = response_from_http(1, 0.0, 429, {"Retry-After": "2"}, b"busy")
    assert r.retry_after == 2.0 and r.reason == "busy"


def test_schedule_five_and_six_fields():
    assert Schedule.parse("*/15 * * * *").next_after(1000.5) == 1800.0
    every2 = Schedule.parse("*/2 * * * * *")  # seconds first
    assert every2.seconds_resolution and every2.next_after(1000.0) == 1002.0
    assert every2.next_after(1001.9) == 1002.0
    for bad in ("", "* * *", "61 * * * *", "* * * * * * *", "@fortnightly"):
        with pytest.raises(ScheduleError):
            Schedule.parse(bad)
