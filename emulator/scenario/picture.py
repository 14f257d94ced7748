"""The report's picture: fleet size per kind, pushes per second, failures and
restores over the scenario's time, with fault periods shaded (matplotlib, PNG)."""
from __future__ import annotations

from pathlib import Path

from . import evidence as E


def draw(report: dict, ev: E.Evidence, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    fig, (fleet, rates) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                       gridspec_kw={"height_ratios": [1, 1.3]})
    end = round(ev.end - ev.start, 3)
    for kind, points in sorted(E.fleet_series(ev).items()):
        xs = [max(0.0, t) for t, _ in points] + [end]
        ys = [n for _, n in points] + [points[-1][1]]
        fleet.step(xs, ys, where="post", label=kind)
    fleet.set_ylabel("engines running")
    fleet.yaxis.get_major_locator().set_params(integer=True)
    fleet.legend(loc="upper right", fontsize="small")
    series = E.rate_series(ev)
    if series:
        ts = [t for t, _, _ in series]
        rates.step(ts, [ok for _, ok, _ in series], where="post", label="acknowledged pushes/s",
                   color="tab:green")
        rates.step(ts, [bad for _, _, bad in series], where="post", label="failed requests/s",
                   color="tab:red")
    for t, name in E.restore_times(ev):
        rates.axvline(max(0.0, t), color="tab:blue", linestyle=":", linewidth=1)
    if E.restore_times(ev):
        rates.plot([], [], color="tab:blue", linestyle=":", label="restore (engine boot)")
    for axis in (fleet, rates):
        for a, b, label in E.fault_periods(ev):
            axis.axvspan(max(0.0, a), b, color="tab:orange", alpha=0.15)
        for step in report["timeline"]:
            axis.axvline(step["started_s"], color="grey", linewidth=0.5)
    if E.fault_periods(ev):
        rates.fill_between([], [], color="tab:orange", alpha=0.15, label="fault set")
    rates.set_xlabel("scenario time (s); grey lines: steps")
    rates.set_ylabel("per second")
    rates.legend(loc="upper right", fontsize="small")
    rates.set_xlim(0, max(end, 1))
    verdict = "PASSED" if report["passed"] else "FAILED"
    fig.suptitle(f"{report['scenario']['name']}: {verdict}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
