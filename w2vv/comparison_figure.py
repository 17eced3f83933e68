"""The picture of a comparison (``compare.py --plot``): one panel per route, a bar per run at its mIR's
mean over the seeds, its standard deviation as the error bar, and each seed's mIR as a dot, so that a
difference between runs can be read against their spread at a glance. The figures are those of the
table (``w2vv.comparison``)."""
import numpy as np

from .atomic import atomic_path


def comparison_figure(figures, runs, routes, metric="mir"):
    """The matplotlib Figure of ``figures`` ({(run, route): ``RouteFigures``})."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .comparison import METRIC_NAMES, seeds, summary

    legend_height = 0.22 * len(runs) + 0.2  # inches: a line per run under the panels
    height = 3.8 + legend_height
    fig = Figure(figsize=(max(6.0, 1.0 + 0.9 * len(runs) * len(routes)), height), dpi=100)
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(1, len(routes), sharey=True))
    colours = [f"C{i}" for i in range(len(runs))]
    for ax, route in zip(axes, routes):
        for x, (run, colour) in enumerate(zip(runs, colours)):
            mean, sd = summary(figures[run, route])[metric]
            per_seed = figures[run, route].values[metric].mean(axis=1)
            ax.bar(x, mean, yerr=None if np.isnan(sd) else sd, capsize=5, color=colour, alpha=0.6, label=run)
            ax.plot(np.full(len(per_seed), x) + np.linspace(-0.15, 0.15, len(per_seed)), per_seed, "o",
                    color="black", markersize=3)
        ax.set_title(route)
        ax.set_xticks(range(len(runs)), [str(i + 1) for i in range(len(runs))])
        ax.grid(axis="y", alpha=0.3)
    n_seeds = figures[runs[0], routes[0]].values[metric].shape[0]
    spread = f"mean ± sd over {seeds(n_seeds)}; dots: seeds" if n_seeds > 1 else "1 seed, no sd"
    axes[0].set_ylabel(f"test {METRIC_NAMES[metric]} ({spread})")
    handles, _ = axes[0].get_legend_handles_labels()
    fig.legend(handles, [f"{i + 1}: {run}" for i, run in enumerate(runs)], loc="lower center", fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, legend_height / height, 1, 1))
    return fig


def write_comparison_figure(path, figures, runs, routes):
    """Write the PNG of ``comparison_figure`` to ``path`` (atomically); return ``path``."""
    fig = comparison_figure(figures, runs, routes)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
