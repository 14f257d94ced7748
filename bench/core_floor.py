"""What the protocol core alone costs per push round: the floor under the simulator's speed.

The simulator's worth is that every decision is made by the code the live
processes run (issue 11): each simulated push round runs the engine machine on
the round's events and the function's chain rules on the push. This measures
those two on their own, driven by hand in a tight loop, with no SimPy, no
simulated network, store or bookkeeping around them:

- the engine machine (emulator/protocol/engine_machine.py) through one steady
  push round: the writes since the last tick (Wrote), the schedule's tick
  (TimerFired, which cuts a delta), the payload built (PayloadBuilt, which
  sends it) and the function's 200 (Response, which acknowledges it);
- the function's decision on that push (emulator/protocol/persist_steps.py over
  chain_rules, on a warm instance state) and what it records of the stored
  object (warm_chain.InstanceState.record), as every function driver does.

`floor(rounds)` multiplies their sum by a run's push rounds: no simulation of
those rounds, however thin its own layer, can run in less on this interpreter.
bench/sim_speed.py prints it beside the month's measured wall time.

    python bench/core_floor.py [--rounds 20000]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class _Push(NamedTuple):
    """A push as the chain rules read it (chain_rules.PushFacts)."""
    kind: str
    cursor_from: object
    cursor_to: object
    checksum: str
    encoding: object
    part: object
    request_id: str = ""


def machine_round_s(rounds: int) -> float:
    """Seconds per steady push round of one engine machine (a 15-minute schedule)."""
    from emulator.protocol.engine_events import PayloadBuilt, Response, TimerFired, Wrote
    from sim.model.harness import MachineRun
    run = MachineRun(schedule="*/15 * * * *")
    run.boot()
    machine, lsn = run.m, 0
    began = time.perf_counter()
    for _ in range(rounds):
        now = machine.next_tick_at
        lsn += 1800  # two writes a second for 15 minutes, counted when the tick comes
        machine.handle(Wrote(now, lsn, 100))
        token = machine.handle(TimerFired(now))[0].token
        machine.handle(PayloadBuilt(token, now, 5000))
        machine.handle(Response(token, now + 0.01, 200, stored_at=now))
    return (time.perf_counter() - began) / rounds


def function_decision_s(rounds: int) -> float:
    """Seconds per push of the function's decision (the chain rules through persist_steps,
    on a warm instance) and its record of the stored object."""
    from emulator.protocol import layout
    from emulator.protocol.chain_rules import Store, Stored
    from emulator.protocol.codec import Encoding
    from emulator.protocol.cursor import Cursor
    from emulator.protocol.persist_steps import carry_out, persist_steps
    from emulator.protocol.warm_chain import InstanceState
    encoding = next(iter(Encoding))
    prefix = layout.instance_prefix("default", "relational", "relational-1")
    state = InstanceState(prefix)
    state.loaded = True  # warm: listed once when the instance first served this engine

    def store(push: _Push, at: int) -> None:
        key = prefix + layout.object_name(push.kind, push.cursor_from, push.cursor_to, encoding, None)
        decision = carry_out(persist_steps(push, key, state, warm_trusted=True),
                             lambda refresh: None, lambda: None)
        assert type(decision) is Store, decision
        obj = layout.StoredObject(key, "relational-1", push.kind, push.cursor_from, push.cursor_to,
                                  encoding, None, 5000, "", float(at))
        state.record(obj, Stored(key, push.checksum, push.cursor_to, at, 200, ""))

    store(_Push("full", None, Cursor(1, 1800), "c0", encoding, None), 0)
    began = time.perf_counter()
    for i in range(1, rounds + 1):
        store(_Push("delta", Cursor(1, 1800 * i), Cursor(1, 1800 * (i + 1)), f"c{i}", encoding, None),
              900 * i)
    return (time.perf_counter() - began) / rounds


def floor(push_rounds: int, sample: int = 20000) -> tuple[float, float, float]:
    """(engine machine s/round, function decision s/push, the floor in seconds for push_rounds)."""
    machine, decision = machine_round_s(sample), function_decision_s(sample)
    return machine, decision, (machine + decision) * push_rounds


def bare_timeout_s(rounds: int) -> float:
    """Seconds per event of a bare SimPy loop (one process yielding timeouts): the baseline,
    measured in the same run, that the floor is printed against."""
    import simpy
    env = simpy.Environment()

    def ticks():
        for _ in range(rounds):
            yield env.timeout(900.0)
    env.process(ticks())
    began = time.perf_counter()
    env.run()
    return (time.perf_counter() - began) / rounds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=20000, help="rounds timed per part")
    ap.add_argument("--push-rounds", type=int, default=2_880_000,
                    help="push rounds to project the floor for (default: 1,000 engines x 30 d at 15 min)")
    args = ap.parse_args()
    machine, decision, total = floor(args.push_rounds, args.rounds)
    bare = bare_timeout_s(args.rounds)
    print(f"core floor: engine machine {machine * 1e6:.1f} us per push round + function decision "
          f"{decision * 1e6:.1f} us per push = {(machine + decision) / bare:.1f}x a bare SimPy timeout "
          f"({bare * 1e6:.2f} us); {total:.0f} s for {args.push_rounds:,} push rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
