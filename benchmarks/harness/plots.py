"""The report's PNG plots, drawn with matplotlib's Agg backend (no screen needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402


def plain(label: str) -> str:
    """A table label without its Markdown code marks."""
    return label.replace("`", "")


COLOURS = {
    "bare": "#7f7f7f",
    "uncached": "#d62728",
    "django": "#1f77b4",
    "cacheops": "#ff7f0e",
    "cachalot": "#9467bd",
    "jimmypage": "#2ca02c",
    "jimmypage_early": "#17becf",
    "jimmypage_remote": "#98df8a",
    "jimmypage_early_remote": "#9edae5",
}


def latency_under_writes(series: dict[str, dict], labels: dict[str, str], path: str) -> None:
    """One line per contender: the poller's request latency over time, writes marked."""
    figure, axes = plt.subplots(figsize=(10, 6.2), dpi=110)
    write_times: list[float] = []
    for key, data in series.items():
        samples = data["samples"]
        if not samples:
            continue
        axes.plot(
            [s[0] for s in samples],
            [s[1] for s in samples],
            linewidth=0.9,
            color=COLOURS.get(key),
            label=plain(labels[key]),
        )
        write_times = write_times or data["write_times"]
    for moment in write_times:
        axes.axvline(moment, color="#bbbbbb", linewidth=0.6, linestyle=":", zorder=0)
    axes.set_yscale("log")
    axes.set_xlabel("seconds since the first write (dotted lines: one article saved)")
    axes.set_ylabel("latency of the poller's request (ms, log scale)")
    axes.set_title("Read latency while an article is saved every 200 ms, under wrk -c16")
    axes.grid(True, which="major", axis="y", alpha=0.3)
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def hit_ratios(
    ratios: dict[str, tuple[float, float, float]], labels: dict[str, str], path: str
) -> None:
    """Horizontal bars: warm-hit time per request as a multiple of the bare view's."""
    keys = list(ratios)
    figure, axes = plt.subplots(figsize=(9, 3.8), dpi=110)
    mids = [ratios[key][1] for key in keys]
    errors = [
        [ratios[key][1] - ratios[key][0] for key in keys],
        [ratios[key][2] - ratios[key][1] for key in keys],
    ]
    axes.barh(range(len(keys)), mids, xerr=errors, color=[COLOURS.get(k) for k in keys], capsize=3)
    axes.set_yticks(range(len(keys)), [plain(labels[key]) for key in keys], fontsize=8)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.set_xlabel("in-process time per request, × the bare view (log scale; bars: min-max)")
    for index, key in enumerate(keys):
        axes.text(ratios[key][2] * 1.12, index, f"{ratios[key][1]:.2f}×", va="center", fontsize=8)
    axes.set_xlim(right=max(high for _, _, high in ratios.values()) * 4)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
