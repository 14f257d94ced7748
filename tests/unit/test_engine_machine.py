"""The engine persistence machine, driven by hand: no I/O, no sleeps.

A `Run` plays the driver: it feeds events with a clock it moves itself and
answers the machine's I/O effects with the statuses a test chooses.
"""
from __future__ import annotations

import random

import pytest

from emulator.protocol.cursor import Cursor
from emulator.protocol.engine_config import parse_engine_config
from emulator.protocol.engine_events import (
    Alert, Booted, Buffer, Compact, Cut, Exit, Health, Ledger, Log, NetworkError, PayloadBuilt,
    PayloadFailed, PersistState, Push, Release, Response, Restore, Restored, Save, Serve, Sigterm,
    StopWrites, Tick, TimerFired, WaitUntil, Wrote)
from emulator.protocol.engine_machine import EngineMachine
from emulator.protocol.engine_core import Phase
from emulator.protocol.headers import Part

from sim.model.harness import T0, MachineRun  # noqa: E402  (T0: ticks of */10 fall on T0 + 10k)


def of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


def one(effects, kind):
    found = of(effects, kind)
    assert len(found) == 1, f"expected one {kind.__name__} in {effects}"
    return found[0]


Run = MachineRun  # the harness lives in the simulator (sim/model/harness.py)


# ---------------------------------------------------------------- boot


def test_disabled_mode_serves_without_network_and_exits_on_sigterm():
    run = Run(mode="disabled")
    effects = run.boot()
    assert one(effects, Serve).boot == "fresh"
    assert not of(effects, (Restore, Health, WaitUntil))
    run.write(3)
    effects = run.feed(Sigterm(run.now))
    assert of(effects, StopWrites) and one(effects, Exit).code == 0
    assert not of(run.log, (Cut, Push))


def test_empty_volume_restores_and_204_means_first_run():
    run = Run()
    effects = run.feed(Booted(T0, True, 0))
    assert one(effects, Restore).takeover is False and of(effects, Health)
    effects = run.answer(204)
    assert one(effects, Serve).boot == "fresh"
    assert one(effects, WaitUntil).deadline == T0 + 10


def test_restore_200_sets_the_durable_cursor_and_continues_with_deltas():
    run = Run(strategy="delta")
    run.boot(answer=None)
    effects = run.feed(Restored(run.token, T0, Cursor(2, 40), lsn=40, deltas=3, records=12))
    assert one(effects, Save).state.durable == Cursor(2, 40)
    assert one(effects, Serve) == Serve("restored", Cursor(2, 40), None)
    run.lsn = 40
    run.write(2)
    cut = one(run.next_tick(), Cut)
    assert (cut.kind, cut.cursor_from, cut.cursor_to) == ("delta", Cursor(2, 40), Cursor(2, 42))


def test_takeover_bumps_the_epoch_and_pushes_a_full_first():
    run = Run(takeover="newest")
    effects = run.feed(Booted(T0, True, 0))
    assert one(effects, Restore).takeover is True
    effects = run.feed(Restored(run.token, T0, Cursor(3, 77), lsn=77, lineage="old-pod"))
    assert one(effects, Save).state == PersistState(durable=None, epoch=4, force_full=True)
    cut = one(effects, Cut)
    assert (cut.kind, cut.cursor_from, cut.cursor_to) == ("full", None, Cursor(4, 77))
    run.built()
    effects = run.ack()
    assert of(effects, Save)[-1].state.durable == Cursor(4, 77)
    assert not run.m.state.force_full


def test_volume_with_a_recorded_cursor_boots_local_without_restore():
    run = Run()
    effects = run.boot(empty=False, lsn=9, persisted=PersistState(durable=Cursor(0, 9)))
    assert not of(effects, Restore) and one(effects, Serve).boot == "local"


def test_data_without_a_cursor_is_restored_when_restore_on_boot():
    run = Run()
    effects = run.feed(Booted(T0, False, 5))
    assert of(effects, Restore)
    assert one(run.answer(204), Serve).boot == "local"


def test_restore_on_boot_false_never_restores():
    run = Run(restore_on_boot="false")
    effects = run.feed(Booted(T0, True, 0))
    assert not of(effects, Restore) and one(effects, Serve).boot == "fresh"


@pytest.mark.parametrize("status", [503, 429, 401])
def test_restore_retries_transient_answers_then_succeeds(status):
    run = Run(max_retries=3)
    run.feed(Booted(T0, True, 0))
    effects = run.answer(status, retry_after=2.0 if status == 429 else None)
    if status == 401:
        assert one(effects, Alert).kind == "auth"
    wait = one(effects, WaitUntil).deadline
    assert wait >= T0 + (2.0 if status == 429 else 0)
    effects = run.at(wait)
    assert one(effects, Restore).attempt == 2
    assert one(run.answer(204), Serve).boot == "fresh"


def test_restore_gives_up_after_max_retries_and_exits_4():
    run = Run(max_retries=2)
    run.feed(Booted(T0, True, 0))
    run.at(one(run.feed(NetworkError(run.token, T0, "refused")), WaitUntil).deadline)
    effects = run.answer(503)
    assert one(effects, Exit).code == 4 and "after 2 attempts" in one(effects, Exit).reason


@pytest.mark.parametrize("status", [400, 409])
def test_restore_refusals_exit_at_once(status):
    run = Run()
    run.feed(Booted(T0, True, 0))
    effects = run.answer(status, reason="gap")
    assert one(effects, Exit).code == 4 and run.m.restore_attempts == 1


def test_sigterm_during_restore_exits_cleanly():
    run = Run()
    run.feed(Booted(T0, True, 0))
    assert one(run.feed(Sigterm(T0 + 1)), Exit).code == 0


# ---------------------------------------------------------------- strategies


def test_no_writes_no_push_and_first_push_is_a_full():
    run = Run()
    run.boot()
    assert not of(run.next_tick(), Cut)
    run.write(3)
    effects = run.next_tick()
    cut = one(effects, Cut)
    assert (cut.kind, cut.cursor_from, cut.cursor_to) == ("full", None, Cursor(0, 3))
    push = one(run.built(500), Push)
    assert (push.part, push.offset, push.length, push.attempt) == (None, 0, 500, 1)
    effects = run.ack()
    ack = one(effects, Ledger)
    assert ack.event == "ack" and ack.fields["lsn_to"] == 3 and ack.fields["kind"] == "full"
    assert one(effects, Save).state.durable == Cursor(0, 3)
    assert one(effects, Release).token == cut.token
    assert run.m.phase is Phase.IDLE


def test_incremental_is_one_full_per_day_and_deltas_between():
    run = Run(day_seconds=25)  # the emulator-only knob: a "day" of 25 s
    run.boot()
    kinds = []
    for _ in range(6):
        run.write(2)
        kinds.append(run.push_round().kind)
    # ticks at T0+10, 20 (day 40000), 30, 40 (day 40001), 50, 60 (day 40002)
    assert kinds == ["full", "delta", "full", "delta", "full", "delta"]


@pytest.mark.parametrize("strategy,expected", [("full", ["full"] * 4),
                                               ("delta", ["full", "delta", "delta", "delta"])])
def test_full_and_delta_strategies(strategy, expected):
    run = Run(strategy=strategy, day_seconds=10)
    run.boot()
    kinds = []
    for _ in range(4):
        run.write(1)
        kinds.append(run.push_round().kind)
    assert kinds == expected


def test_delta_cursors_chain_from_the_acknowledged_cursor():
    run = Run(strategy="delta")
    run.boot()
    run.write(4)
    run.push_round()
    run.write(3)
    cut = run.push_round()
    assert (cut.cursor_from, cut.cursor_to) == (Cursor(0, 4), Cursor(0, 7))


# ---------------------------------------------------------------- statuses


def pushing(strategy="delta", **env):
    """A run that has one acknowledged full and a delta of 2 writes in flight."""
    run = Run(strategy=strategy, **env)
    run.boot()
    run.write(2)
    run.push_round()
    run.write(2)
    one(run.next_tick(), Cut)
    run.built(1000)
    return run


def test_202_accepted_advances_like_200():
    run = pushing()
    effects = run.answer(202, stored_at=T0)
    assert one(effects, Save).state.durable == Cursor(0, 4)


def test_400_drops_without_retry_and_the_next_push_covers_the_writes():
    run = pushing()
    effects = run.answer(400, reason="bad header")
    assert one(effects, Alert).kind == "dropped"
    assert of(effects, Release) and not of(effects, Push)
    assert run.m.state.durable == Cursor(0, 2)
    run.write(1)
    cut = one(run.next_tick(), Cut)
    assert (cut.cursor_from, cut.cursor_to) == (Cursor(0, 2), Cursor(0, 5))


def test_401_alerts_and_retries_at_once_with_a_fresh_signature():
    run = pushing()
    effects = run.answer(401)
    assert one(effects, Alert).kind == "auth"
    assert one(effects, Push).attempt == 2  # no wait: the driver re-signs with the current time


def test_409_on_a_delta_switches_to_a_full_at_once():
    run = pushing()
    effects = run.answer(409, reason="cursor gap")
    cut = one(effects, Cut)
    assert (cut.kind, cut.cursor_to) == ("full", Cursor(0, 4))
    assert of(effects, Save)[-1].state.force_full
    run.built()
    effects = run.ack()
    assert not one(effects, Save).state.force_full


def test_409_on_a_full_is_fenced_until_the_next_tick():
    run = pushing(strategy="full")
    effects = run.answer(409)
    assert one(effects, Alert).kind == "fenced" and not of(effects, (Cut, Push))
    assert run.m.phase is Phase.IDLE and run.m.state.force_full


def test_413_splits_at_the_named_limit_and_remembers_it():
    run = pushing()
    effects = run.answer(413, max_payload=300)
    assert one(effects, Save).state.max_payload == 300
    parts = [one(effects, Push)]
    for _ in range(3):
        parts.append(one(run.ack(), Push))
    assert [(p.part, p.offset, p.length) for p in parts] == [
        (Part(1, 4), 0, 300), (Part(2, 4), 300, 300), (Part(3, 4), 600, 300), (Part(4, 4), 900, 100)]
    assert one(run.ack(), Ledger).fields["parts"] == 4
    run.write(1)
    run.next_tick()
    assert one(run.built(450), Push).part == Part(1, 2)  # split up front with the learned limit


def test_413_without_a_usable_limit_is_dropped_with_an_alert():
    run = pushing()
    effects = run.answer(413)
    assert one(effects, Alert).kind == "too_large" and not of(effects, Push)


def test_429_honours_retry_after_beyond_the_backoff():
    run = pushing()
    effects = run.answer(429, retry_after=7.0)
    assert one(effects, WaitUntil).deadline == pytest.approx(T0 + 20 + 7.0)
    effects = run.at(T0 + 27)
    assert one(effects, Push).attempt == 2


def test_backoff_is_exponential_and_capped_at_60_seconds():
    run = pushing(max_retries=12)
    waits = []
    for _ in range(11):
        start = run.now
        run.answer(503)
        waits.append(run.m.retry_at - start)  # ticks in between are skipped: a round is busy
        one(run.at(run.m.retry_at), Push)
    assert waits[0] <= 1.0 and waits[3] >= 4.0 and max(waits) <= 60.0 and waits[-1] >= 30.0


def test_5xx_and_network_errors_retry_then_buffer_until_next_tick():
    run = pushing(max_retries=3)
    first = run.token
    run.at(one(run.answer(503), WaitUntil).deadline)
    run.at(one(run.feed(NetworkError(run.token, run.now, "reset")), WaitUntil).deadline)
    effects = run.answer(502)
    assert one(effects, Buffer) == Buffer(first, 1000)
    assert run.m.phase is Phase.IDLE and run.m.status()["buffered_bytes"] == 1000
    run.write(1)
    effects = run.next_tick()
    push = one(effects, Push)  # the buffered payload goes first, byte for byte
    assert (push.token, push.cursor_to, push.attempt) == (first, Cursor(0, 4), 1)
    assert not of(effects, Cut)
    effects = run.ack()
    cut = one(effects, Cut)  # then the writes made since
    assert (cut.cursor_from, cut.cursor_to) == (Cursor(0, 4), Cursor(0, 5))


def test_a_payload_over_the_buffer_bound_is_released_not_buffered():
    run = pushing(max_retries=1, buffer_bytes=500)
    effects = run.answer(503)
    assert not of(effects, Buffer) and of(effects, Release)


def test_stale_answers_and_busy_ticks_are_ignored():
    run = pushing()
    effects = run.feed(Response(run.token + 99, run.now, 200))
    assert not of(effects, (Save, Ledger)) and run.m.phase is Phase.PUSHING
    effects = run.feed(Tick(run.now))
    assert not of(effects, Cut)


def test_wal_missing_for_a_delta_cuts_a_full():
    run = Run(strategy="delta")
    run.boot()
    run.write(2)
    run.push_round()
    run.write(1)
    run.next_tick()
    effects = run.feed(PayloadFailed(run.token, run.now, "compacted", wal_missing=True))
    assert one(effects, Cut).kind == "full"


# ---------------------------------------------------------------- WAL retention


def test_compaction_keeps_the_wal_after_the_durable_cursor():
    run = Run(strategy="delta")
    run.boot()
    run.write(2)
    run.push_round()
    effects = run.write(1, nbytes=9 * 1024 * 1024)
    assert one(effects, Compact).retain_after == 2


def test_compaction_over_the_buffer_bound_drops_the_wal_and_forces_a_full():
    run = Run(strategy="delta", buffer_bytes=1024)
    run.boot()
    run.write(2)
    run.push_round()
    effects = run.write(1, nbytes=9 * 1024 * 1024)
    assert one(effects, Compact).retain_after == 3 and one(effects, Save).state.force_full
    assert one(run.next_tick(), Cut).kind == "full"


# ---------------------------------------------------------------- shutdown


def test_sigterm_flushes_the_rest_and_exits_0():
    run = Run(strategy="delta")
    run.boot()
    run.write(2)
    run.push_round()
    run.write(3)
    effects = run.feed(Sigterm(run.now))
    assert of(effects, StopWrites)
    cut = one(effects, Cut)
    assert (cut.kind, cut.cursor_from, cut.cursor_to) == ("delta", Cursor(0, 2), Cursor(0, 5))
    run.built()
    effects = run.ack()
    assert one(effects, Exit).code == 0
    assert [l.event for l in of(effects, Ledger)] == ["ack", "exit"]


def test_sigterm_with_nothing_new_exits_at_once():
    run = Run()
    run.boot()
    assert one(run.feed(Sigterm(run.now)), Exit).code == 0


def test_sigterm_without_on_shutdown_skips_the_flush_and_says_so():
    run = Run(on_shutdown="false")
    run.boot()
    run.write(2)
    effects = run.feed(Sigterm(run.now))
    assert one(effects, Exit).code == 0 and "1..2 stay on the volume" in one(effects, Exit).reason
    assert not of(effects, Cut)


def test_sigterm_during_a_push_lets_it_finish_then_drains():
    run = pushing()
    run.write(1)  # a write that slipped in before StopWrites took effect
    effects = run.feed(Sigterm(run.now))
    assert not of(effects, Cut)
    cut = one(run.ack(), Cut)
    assert (cut.cursor_from, cut.cursor_to) == (Cursor(0, 4), Cursor(0, 5))
    run.built()
    assert one(run.ack(), Exit).code == 0


def test_shutdown_budget_runs_out_exit_3_naming_the_lost_writes():
    run = Run(max_retries=100, shutdown_budget=30)
    run.boot()
    run.write(4)
    start = run.now
    run.feed(Sigterm(start))
    run.built()
    effects = run.answer(503)
    attempts = 1
    while not of(effects, Exit):
        effects = run.at(min(t for t in (run.m.retry_at, run.m.stop_deadline) if t is not None))
        if of(effects, Push):
            attempts += 1
            assert one(effects, Push).timeout_s <= start + 30 - run.now + 1e-9
            effects = run.feed(NetworkError(run.token, run.now, "outage"))
    assert attempts >= 4  # back-off is squeezed into the budget, so several attempts fit
    exit_ = one(effects, Exit)
    assert exit_.code == 3 and run.now == pytest.approx(start + 30)
    alert = one(effects, Alert)
    assert alert.kind == "flush_incomplete" and "writes lsn 1..4" in alert.message
    assert one(effects, Ledger).fields["unacknowledged"] == [1, 4]


def test_retries_running_out_during_shutdown_exit_3():
    run = Run(max_retries=2)
    run.boot()
    run.write(1)
    run.feed(Sigterm(run.now))
    run.built()
    run.at(one(run.answer(500), WaitUntil).deadline)
    assert one(run.answer(500), Exit).code == 3


def test_buffered_payload_is_sent_first_in_the_final_flush():
    run = pushing(max_retries=1)
    buffered = run.token
    run.answer(503)
    run.write(2)
    effects = run.feed(Sigterm(run.now))
    assert one(effects, Push).token == buffered
    assert one(run.ack(), Cut).cursor_to == Cursor(0, 6)


# ---------------------------------------------------------------- health and determinism


def test_health_probe_failures_warn_and_serving_continues():
    run = Run(health_interval=30)
    effects = run.feed(Booted(T0, False, 3, PersistState(durable=Cursor(0, 3))))
    assert of(effects, Health) and one(effects, Serve)
    effects = run.feed(Response(run.health, T0, 503, reason="store down"))
    assert "health" in one(effects, Log).message and run.m.health == "status 503"
    assert of(run.at(T0 + 30), Health)
    run.feed(Response(run.health, run.now, 200))
    assert run.m.health == "ok"


def test_same_seed_same_decisions():
    def trace(seed):
        run = pushing(max_retries=6, seed=seed)
        waits = []
        for _ in range(5):
            run.answer(503)
            waits.append(run.m.retry_at)
            run.at(run.m.retry_at)
        return waits
    assert trace(1) == trace(1) and trace(1) != trace(2)


# ---------------------------------------------------------------- next_deadline and the parts


def test_next_deadline_is_the_last_wait_until_and_none_before_boot_and_after_exit():
    run = Run(health_interval=30)
    assert run.m.next_deadline() is None
    waits = of(run.boot(), WaitUntil)
    assert run.m.next_deadline() == waits[-1].deadline == T0 + 10  # the tick before the probe
    run.feed(Response(run.health, run.now, 200))
    run.write(2)
    for _ in range(6):   # a driver that only ever asks next_deadline() keeps the machine going
        effects = run.at(run.m.next_deadline())
        if of(effects, Health):
            run.feed(Response(run.health, run.now, 200))
        if of(effects, Cut):
            run.built()
            run.ack()
        assert run.m.next_deadline() == of(run.log, WaitUntil)[-1].deadline
    assert run.m.state.durable == Cursor(0, 2) and run.m.next_deadline() == T0 + 70
    one(run.feed(Sigterm(run.now)), Exit)   # nothing unacknowledged: the flush exits at once
    assert run.m.next_deadline() is None


def test_next_deadline_while_flushing_is_the_budget_or_a_sooner_retry():
    run = pushing(shutdown_budget=8)
    run.feed(Sigterm(run.now))
    assert run.m.next_deadline() == run.now + 8   # no schedule ticks while flushing
    run.answer(503)
    assert run.m.next_deadline() == run.m.retry_at < run.now + 8


def test_every_part_declares_its_state():
    """A part that sets a field it did not declare fails at once (slots, no __dict__)."""
    m = Run().m
    parts = [m._core, m._wal, m._health, m._shutdown, m._rounds, m._boot, m._timers]
    for part in parts + [part.s for part in parts if hasattr(part, "s")]:
        assert not hasattr(part, "__dict__"), type(part).__name__
        with pytest.raises(AttributeError):
            part.undeclared = 1


def test_an_acknowledged_push_carries_every_other_persisted_field_over():
    """PersistState.acknowledged builds the state directly (it runs once per push round):
    a field added to PersistState must be carried over there too; this fails until it is."""
    from dataclasses import fields, replace
    assert [f.name for f in fields(PersistState)] == [
        "durable", "epoch", "last_full_day", "max_payload", "force_full"]
    before = PersistState(durable=Cursor(1, 2), epoch=1, last_full_day=4, max_payload=5,
                          force_full=True)
    to = Cursor(1, 9)
    assert before.acknowledged(to, full_day=None) == replace(before, durable=to)
    assert before.acknowledged(to, full_day=7) == replace(before, durable=to, last_full_day=7,
                                                          force_full=False)
