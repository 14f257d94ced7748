"""The what-if picture of a sweep: cost per month against the worst data-at-risk window,
one point per combination with its confidence intervals (matplotlib, PNG)."""
from __future__ import annotations

from pathlib import Path


def draw_whatif(sweep: dict, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    plotted = 0
    for row in sweep["combinations"]:
        cost, risk = row["metrics"]["cost_month"], row["metrics"]["risk_max_s"]
        if cost["mean"] is None or risk["mean"] is None:
            continue
        ax.errorbar(risk["mean"], cost["mean"], xerr=risk["half_width"] or 0, yerr=cost["half_width"] or 0,
                    fmt="o", capsize=4)
        ax.annotate(row["label"], (risk["mean"], cost["mean"]), textcoords="offset points", xytext=(6, 6),
                    fontsize="small")
        plotted += 1
    if not plotted:
        ax.text(0.5, 0.5, "no run measured both cost and data at risk", ha="center", va="center",
                transform=ax.transAxes)
    currency = sweep.get("currency") or "currency units"
    ax.set_xlabel("worst data-at-risk window (s), mean over replications")
    ax.set_ylabel(f"cost per month ({currency}, list prices)")
    pct = f"{sweep['confidence'] * 100:g}%"
    ax.set_title(f"{sweep['scenario']['name']}: cost against data at risk "
                 f"({sweep['replications']} replications, {pct} intervals)")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
