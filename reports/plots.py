"""Report plots as inline base64 PNG data URIs.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no global backend switch),
so building a report never touches a display and never changes another caller's backend.
Every function takes already-aggregated rows: data stays in DuckDB until it is counted.
"""

from __future__ import annotations

import base64
import io

PALETTE = ("#2f6f9f", "#e07b39", "#5a9e6f", "#b5525c", "#8c6bb1", "#7f7f7f", "#c9a227")


def _figure(width: float, height: float):
    """A figure bound to an Agg canvas, created inside the call."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _data_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)


def bin_counts(bins: list[dict], as_of, score: str, n_bins: int = 10) -> list[int]:
    """Accounts per score bin (0..n_bins-1) of `score` at `as_of`, from model_score_bins rows."""
    counts = [0] * n_bins
    for r in bins:
        if r["as_of"] == as_of and r["score"] == score:
            counts[r["bin"]] = r["accounts"]
    return counts


def score_histograms_png(bins: list[dict], as_of, previous_as_of=None) -> str | None:
    """Histograms of p_pay_30d and p_promise_kept (10 bins on [0, 1]) from model_score_bins rows.

    The previous scoring date, when given, is drawn as an outline for comparison.
    """
    if not any(r["as_of"] == as_of for r in bins):
        return None
    fig = _figure(9, 3.2)
    axes = fig.subplots(1, 2, sharey=False)
    edges = [i / 10 for i in range(10)]
    for ax, score in zip(axes, ("p_pay_30d", "p_promise_kept")):
        for date, kind in ((as_of, "bar"), (previous_as_of, "step")):
            if date is None:
                continue
            counts = bin_counts(bins, date, score)
            total = sum(counts) or 1
            shares = [c / total for c in counts]
            if kind == "bar":
                ax.bar(edges, shares, width=0.1, align="edge", color=PALETTE[0],
                       edgecolor="white", label=f"{date}")
            else:
                ax.step(edges + [1.0], shares + [shares[-1]], where="post", color=PALETTE[1],
                        linewidth=1.6, label=f"{date} (previous)")
        ax.set_title(score, fontsize=11)
        ax.set_xlim(0, 1)
        ax.set_xlabel("score")
        ax.set_ylabel("share of accounts")
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        _style(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False, fontsize=9)
    return _data_uri(fig)


def actions_by_channel_png(actions: list[dict]) -> str | None:
    """Stacked bars: next-best-actions per channel, stacked by action."""
    if not actions:
        return None
    from matplotlib.ticker import MaxNLocator

    channels = sorted({r["channel"] for r in actions})
    kinds = sorted({r["action"] for r in actions})
    fig = _figure(9, 3.2)
    ax = fig.subplots()
    bottom = [0] * len(channels)
    for i, kind in enumerate(kinds):
        heights = [sum(r["actions"] for r in actions if r["channel"] == c and r["action"] == kind)
                   for c in channels]
        ax.bar(channels, heights, bottom=bottom, label=kind, color=PALETTE[i % len(PALETTE)])
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_xticks(range(len(channels)), ["no channel" if c == "—" else c for c in channels])
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("actions")
    ax.set_title("Next-best-actions by channel", fontsize=11)
    _style(ax)
    ax.legend(frameon=False, fontsize=9, title="action", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _data_uri(fig)


def cure_roll_png(rows: list[dict]) -> str | None:
    """Grouped bars: cure and roll rate by starting DPD bucket."""
    if not rows:
        return None
    fig = _figure(9, 3.0)
    ax = fig.subplots()
    x = list(range(len(rows)))
    ax.bar([i - 0.2 for i in x], [r["cure_rate"] or 0 for r in rows], width=0.4,
           label="cure rate", color=PALETTE[2])
    ax.bar([i + 0.2 for i in x], [r["roll_rate"] or 0 for r in rows], width=0.4,
           label="roll rate", color=PALETTE[3])
    ax.set_xticks(x, [r["dpd_bucket"] for r in rows])
    ax.set_xlabel("DPD bucket 30 days earlier")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_title("Cure and roll by DPD bucket", fontsize=11)
    _style(ax)
    ax.legend(frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _data_uri(fig)
