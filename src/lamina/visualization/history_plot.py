"""`plot_history`: the training curves of a `fit` in one call (lamina's own; Keras has
no such function)."""

from lamina.visualization.galleries import import_pyplot


def plot_history(history, metrics=None, path=None, show=None, scale=3, dpi=100):
    """Plots each metric of a `fit` per epoch, training and validation curves together.

    Args:
        history: the `History` that `fit` returns, or its `history` dict.
        metrics: the names to plot (default: every name without a `val_` prefix, in
            logging order); each gets its own panel, with its `val_` curve when there is one.
        path: save the figure to this file (the format from its extension).
        show: show it with `plt.show()` (default: when `path` is None).
        scale: the size of each panel in inches.
        dpi: the resolution of the saved file.

    Returns:
        The matplotlib `Figure`.
    """
    plt = import_pyplot("plot_history")
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError(
            "plot_history needs the History returned by `fit` (or its `history` dict) with "
            f"at least one epoch of logs. Received: {history!r}")
    names = metrics or [name for name in logs if not name.startswith("val_")]
    unknown = [name for name in names if name not in logs]
    if unknown:
        raise ValueError(f"plot_history: no logs named {unknown}. Logged: {sorted(logs)}")
    show = path is None if show is None else show
    fig, axes = plt.subplots(1, len(names), figsize=(scale * len(names) * 1.4, scale),
                             squeeze=False, layout="tight")
    for axis, name in zip(axes.flat, names):
        epochs = range(1, len(logs[name]) + 1)
        axis.plot(epochs, logs[name], marker="o", label="train")
        if f"val_{name}" in logs:
            axis.plot(range(1, len(logs[f"val_{name}"]) + 1), logs[f"val_{name}"], marker="o",
                      label="validation")
            axis.legend()
        axis.set_title(name)
        axis.set_xlabel("epoch")
    if path is not None:
        fig.savefig(path, dpi=dpi)
    if show:
        plt.show()
    if path is not None or show:
        plt.close(fig)
    return fig
