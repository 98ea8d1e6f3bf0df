"""`Progbar`: Keras' console progress bar.

Values handed to `update` may be 0-d torch tensors (possibly on an accelerator). They are
kept as references and only turned into Python numbers when a line is actually printed
(at most once per `interval` seconds, or once at the end with `verbose=2`), so a training
step never waits on the host because of the bar.
"""

import math
import time

import numpy as np
import torch

from lamina.utils import io_utils

_BOLD, _GREEN, _WHITE, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"
_BAR_GLYPH = "\u2501"


def _to_number(value):
    """A Python number for display; this is where a device value gets synced."""
    if isinstance(value, torch.Tensor):
        value = value.detach()
        if value.numel() != 1:
            value = value.float().mean()
        return value.item()
    if isinstance(value, np.ndarray) and value.size != 1:
        return float(np.mean(value))
    return float(value)


def _format_value(value):
    try:
        number = _to_number(value)
    except (TypeError, ValueError):
        return f" {value}"
    return f" {number:.4f}" if abs(number) > 1e-3 else f" {number:.4e}"


def _format_eta(seconds):
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def _format_duration_per_unit(seconds, unit_name):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


class Progbar:
    """A progress bar, drawn in place on terminals and notebooks.

    Values passed to `update` are averaged over steps before display unless they are
    listed in `stateful_metrics` (shown as-is); with `stateless_metrics` instead, only
    those are averaged. At the final step the last values are shown as received.

    Args:
        target: total number of steps, or `None` if unknown.
        width: bar width in characters.
        verbose: 0 (silent), 1 (bar, redrawn at most every `interval` seconds) or
            2 (one line at the end).
        interval: minimum seconds between two redraws (and between two reads of
            the values).
        stateful_metrics: names shown as-is instead of averaged.
        stateless_metrics: names averaged; all others shown as-is.
        unit_name: what one count is called (`"step"`, `"sample"`).

    >>> bar = Progbar(2, verbose=2)
    >>> bar.update(1, [("loss", 0.5)])
    >>> bar.update(2, [("loss", 0.25)])  # doctest: +ELLIPSIS
    2/2 - 0s - ...s/step - loss: 0.2500
    """

    def __init__(
        self,
        target,
        width=20,
        verbose=1,
        interval=0.05,
        stateful_metrics=None,
        stateless_metrics=None,
        unit_name="step",
    ):
        if stateful_metrics and stateless_metrics:
            raise ValueError(
                "Progbar: pass `stateful_metrics` (names shown as-is) or `stateless_metrics` "
                "(names averaged), not both. Received: "
                f"stateful_metrics={stateful_metrics!r}, stateless_metrics={stateless_metrics!r}"
            )
        if verbose not in (0, 1, 2):
            raise ValueError(f"Progbar: `verbose` must be 0, 1 or 2. Received: verbose={verbose!r}")
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self.stateless_metrics = set(stateless_metrics or ())
        # Names in neither set are averaged unless only `stateless_metrics` was given.
        self._average_by_default = not self.stateless_metrics
        self._dynamic_display = io_utils.is_dynamic_display()
        self._values = {}  # name -> [sum, weight] (averaged) or [value, 1] (as-is)
        self._values_order = []
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step = None
        self._prev_total_width = 0

    def _is_averaged(self, name):
        if name in self.stateful_metrics:
            return False
        if name in self.stateless_metrics:
            return True
        return self._average_by_default

    def update(self, current, values=None, finalize=None):
        """Move the bar to `current` and record `values`.

        Args:
            current: steps done so far.
            values: list of `(name, value)` pairs; values may be tensors.
            finalize: whether this is the last update; by default
                `current >= target` (never when `target` is `None`).
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose == 0:
            self._seen_so_far = current
            return
        weight = max(current - self._seen_so_far, 1)
        for name, value in values or ():
            if name not in self._values:
                self._values_order.append(name)
            previous = self._values.get(name)
            if finalize or not self._is_averaged(name):
                self._values[name] = [value, 1]
            elif previous is None:
                self._values[name] = [value * weight, weight]
            else:
                previous[0] = previous[0] + value * weight
                previous[1] += weight
        self._seen_so_far = current
        now = time.time()
        if current == 1:
            self._time_after_first_step = now
        if self.verbose == 1:
            if not finalize and (
                not self._dynamic_display or now - self._last_update < self.interval
            ):
                return
            self._draw_bar(current, now, finalize)
        elif finalize:
            self._print_summary(current, now)
        self._last_update = now

    def add(self, n, values=None):
        """Advance the bar by `n` steps (see `update`)."""
        self.update(self._seen_so_far + n, values)

    def _time_per_unit(self, current, now):
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            return (now - self._time_after_first_step) / (current - 1)
        return (now - self._start) / current

    def _metrics_text(self):
        parts = []
        for name in self._values_order:
            total, weight = self._values[name]
            parts.append(f" - {name}:")
            parts.append(_format_value(total if weight == 1 else total / weight))
        return "".join(parts)

    def _count_text(self, current):
        digits = int(math.log10(self.target)) + 1 if self.target > 0 else 1
        return f"{current:{digits}d}/{self.target}"

    def _draw_bar(self, current, now, finalize):
        # Each segment is (text, ANSI style or None); the width counts visible text only.
        segments = []
        if self.target is not None:
            filled = min(int(self.width * current / self.target), self.width) if self.target else 0
            segments += [
                (self._count_text(current), _BOLD),
                (" ", None),
                (_BAR_GLYPH * filled, _GREEN),
                (_BAR_GLYPH * (self.width - filled), _WHITE),
                (" ", None),
            ]
        else:
            segments.append((f"{current:7d}/Unknown ", None))
        per_unit = self._time_per_unit(current, now)
        if self.target is not None and not finalize:
            clock = _format_eta(per_unit * (self.target - current))
        else:
            clock = f"{now - self._start:.0f}s"
        segments += [
            (clock, _BOLD),
            (" " + _format_duration_per_unit(per_unit, self.unit_name), None),
            (self._metrics_text(), None),
        ]
        visible = "".join(text for text, _ in segments)
        if not self._dynamic_display:
            # A pipe or a log file gets one clean final line, without control codes.
            io_utils.print_msg(visible)
            return
        styled = "".join(
            text if style is None else style + text + _RESET
            for text, style in segments
            if text or style != _GREEN  # an empty bar start has no green run; the rest does
        )
        line = "\b" * self._prev_total_width + "\r" + styled
        if self._prev_total_width > len(visible):
            line += " " * (self._prev_total_width - len(visible))
        if finalize:
            line += "\n"
        self._prev_total_width = len(visible)
        io_utils.print_msg(line, line_break=False)

    def _print_summary(self, current, now):
        count = self._count_text(current) if self.target is not None else f"{current}/Unknown"
        per_unit = _format_duration_per_unit(self._time_per_unit(current, now), self.unit_name)
        io_utils.print_msg(f"{count} - {now - self._start:.0f}s - {per_unit}{self._metrics_text()}")
