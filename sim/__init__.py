"""The simulator: the WKP-1 stack as a SimPy model running the same protocol core (docs/sim.md).

`sim.runner.simulate(scenario)` runs a scenario file on virtual time and
returns evidence in the live runner's shape plus counts for costs. The model
(`sim/model/`) drives the real EngineMachine per engine pod, the live
function's rules over an in-memory store, and the supervisor's pod policies.

PURE_MODULES lists the sim modules that must stay free of I/O, clocks, threads
and asyncio (tests/unit/test_purity.py checks them); the SimPy world, the runner
and anything that reads files or the wall clock are not in it.
"""

PURE_MODULES = (
    "sim.model.payloads",
    "sim.model.network",
    "sim.model.function",
    "sim.model.engine",
    "sim.model.harness",
    "sim.costs",
    "sim.swim_cluster", "sim.swim_theory", "sim.platform", "sim.autoscale", "sim.platform_settings",
)
