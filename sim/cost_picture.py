"""The cost section's picture: cost per month by line item, stacked by part (matplotlib, PNG)."""
from __future__ import annotations

from pathlib import Path

COLOURS = {"function": "tab:blue", "store": "tab:green", "transfer": "tab:orange", "engines": "tab:purple"}


def draw_cost(section: dict, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    items = [i for i in section["items"] if i["month"] > 0]
    fig, (bars, parts) = plt.subplots(1, 2, figsize=(11, max(3.0, 0.45 * len(items) + 1.5)),
                                      gridspec_kw={"width_ratios": [3, 1.2]})
    labels = [f"{i['part']}: {i['item']}" for i in items]
    values = [i["month"] for i in items]
    bars.barh(range(len(items)), values, color=[COLOURS.get(i["part"], "grey") for i in items])
    bars.set_yticks(range(len(items)), labels, fontsize="small")
    bars.invert_yaxis()
    cur = section["prices"]["currency"]
    bars.set_xlabel(f"{cur} per month (log scale)" if values and max(values) > 100 * max(min(values), 1e-9)
                    else f"{cur} per month")
    if values and max(values) > 100 * max(min(values), 1e-9):
        bars.set_xscale("log")
    for y, v in enumerate(values):
        bars.annotate(f"{v:,.2f}", (v, y), textcoords="offset points", xytext=(4, -3), fontsize="x-small")
    by_part = section["by_part_month"]
    names = [p for p in ("function", "store", "transfer", "engines") if by_part.get(p)]
    bottom = 0.0
    for name in names:
        parts.bar([0], [by_part[name]], bottom=[bottom], color=COLOURS[name], label=name)
        bottom += by_part[name]
    parts.set_xticks([])
    parts.set_ylabel(f"{cur} per month")
    parts.legend(loc="upper right", fontsize="small")
    parts.set_title(f"total {section['total_month']:,.2f}", fontsize="medium")
    p = section["prices"]
    fig.suptitle(f"cost per month: {p['name']}, list prices as of {p['as_of']} "
                 f"(the run scaled x{section['month_scale']:.4g} to 730 h)", fontsize="medium")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
