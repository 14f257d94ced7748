"""Events per second through EngineMachine.handle, as a ratio to a bare dispatch loop.

The simulator calls `EngineMachine.handle` about ten million times for a month
of a thousand engines, so its cost per event bounds the simulator's speed.
This drives one machine through push rounds on a virtual clock, the way a
simulator does: boot (restore 204), then per round a few aggregated writes,
the schedule's timer, the payload built, the push acknowledged, and a health
probe answered every minute. Every effect is answered at once, and the
events fed are recorded.

Baseline, in the same run: the recorded events fed again to the cheapest
machine Python allows (one dict lookup on the event's type, one effect
appended, the list returned): the floor of any event-driven machine. Printed:
both rates and their ratio (machine / floor; higher is better). Separately,
the cost of the schedule's next tick (`Schedule.next_after`), which every
round pays once, against the same floor.

    .venv/bin/python bench/engine_machine_speed.py [--rounds N] [--writes W] [--repeat R]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.protocol.engine_config import parse_engine_config  # noqa: E402
from emulator.protocol.engine_events import (  # noqa: E402
    Booted, Cut, Health, Ledger, PayloadBuilt, Push, Response, Restore, TimerFired, WaitUntil,
    Wrote)
from emulator.protocol.engine_machine import EngineMachine  # noqa: E402

T0 = 1_700_000_100.0
SETTINGS = {"WEFTKIT_PERSIST_MODE": "serverless", "WEFTKIT_PERSIST_ENDPOINT": "https://fn.example",
            "WEFTKIT_PERSIST_SECRET": "s"}  # the seed's defaults: */15 schedule, incremental


def drive(rounds: int, writes: int) -> tuple[float, list]:
    """Seconds spent in handle() for `rounds` acknowledged pushes, and the events fed."""
    machine = EngineMachine(parse_engine_config(SETTINGS), random.Random(1))
    fed: list = []
    now, lsn, deadline, acks, spent = T0, 0, None, 0, 0.0
    queue = [Booted(now, True, 0)]
    clock = time.perf_counter
    while acks < rounds:
        if not queue:
            step = (deadline - now) / (writes + 1)
            for _ in range(writes):  # aggregated writes between two timer deadlines
                now += step
                lsn += 1
                queue.append(Wrote(now, lsn, 4096))
            now = deadline
            queue.append(TimerFired(now))
        event = queue.pop(0)
        fed.append(event)
        started = clock()
        effects = machine.handle(event)
        spent += clock() - started
        for e in effects:
            kind = type(e)
            if kind is WaitUntil:
                deadline = e.deadline
            elif kind is Cut:
                queue.append(PayloadBuilt(e.token, now, 64 * 1024))
            elif kind is Push:
                queue.append(Response(e.token, now, 200, stored_at=now))
            elif kind is Restore:
                queue.append(Response(e.token, now, 204))
            elif kind is Health:
                queue.append(Response(e.token, now, 200))
            elif kind is Ledger and e.event == "ack":
                acks += 1
    return spent, fed


def floor(events: list) -> float:
    """The same events through the cheapest possible machine."""
    table = {type(e): WaitUntil for e in events}
    clock = time.perf_counter

    def handle(event):
        out = []
        out.append(table[type(event)](event.now))
        return out

    spent = 0.0
    for event in events:
        started = clock()
        handle(event)
        spent += clock() - started
    return spent


def schedule_cost(events: list) -> float:
    schedule = parse_engine_config(SETTINGS).schedule
    clock = time.perf_counter
    started = clock()
    for event in events:
        schedule.next_after(event.now)
    return clock() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10_000, help="acknowledged pushes per repeat")
    ap.add_argument("--writes", type=int, default=3, help="aggregated writes between deadlines")
    ap.add_argument("--repeat", type=int, default=3, help="alternating repeats; medians are printed")
    args = ap.parse_args()
    machine_rates, floor_rates, ratios, schedule_ratios = [], [], [], []
    for _ in range(args.repeat):
        spent, events = drive(args.rounds, args.writes)
        base = floor(events)
        ticks = [e for e in events if type(e) is TimerFired]
        per_tick = schedule_cost(ticks) / len(ticks)
        machine_rates.append(len(events) / spent)
        floor_rates.append(len(events) / base)
        ratios.append(base / spent)
        schedule_ratios.append(per_tick / (base / len(events)))
    n = len(events)
    print(f"engine machine: {statistics.median(machine_rates):,.0f} events/s "
          f"({n:,} events, {args.rounds:,} push rounds, median of {args.repeat})")
    print(f"floor (one dict dispatch per event): {statistics.median(floor_rates):,.0f} events/s")
    print(f"machine / floor: {statistics.median(ratios):.3f}")
    print(f"schedule.next_after: {statistics.median(schedule_ratios):.1f}x the floor's cost of one event")


if __name__ == "__main__":
    main()
