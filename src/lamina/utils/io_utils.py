"""Console output for progress bars and callbacks.

Messages go to stdout while interactive logging is enabled (the default) and to
the `logging` logger ``"lamina"`` otherwise, so batch jobs can route them.
"""

import logging
import os
import sys

_INTERACTIVE = {"enabled": True}


def enable_interactive_logging():
    """Send `print_msg` output to stdout (the default)."""
    _INTERACTIVE["enabled"] = True


def disable_interactive_logging():
    """Send `print_msg` output to the `"lamina"` logger instead of stdout."""
    _INTERACTIVE["enabled"] = False


def set_interactive_logging(enabled):
    """Enable (`True`) or disable (`False`) interactive logging."""
    _INTERACTIVE["enabled"] = bool(enabled)


def is_interactive_logging_enabled():
    """Whether `print_msg` writes to stdout.

    >>> is_interactive_logging_enabled()
    True
    """
    return _INTERACTIVE["enabled"]


is_interactive_logging = is_interactive_logging_enabled


def is_dynamic_display():
    """Whether stdout can redraw a line in place (a terminal or a notebook).

    Read when a progress bar is created, since `sys.stdout` may be swapped.
    """
    if not _INTERACTIVE["enabled"]:
        return False
    stream = sys.stdout
    isatty = getattr(stream, "isatty", None)
    try:
        if isatty is not None and isatty():
            return True
    except ValueError:  # closed stream
        return False
    return "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ


def print_msg(message, line_break=True):
    """Write `message` to stdout (or to the `"lamina"` logger when not interactive).

    Args:
        message: the text.
        line_break: append a newline (stdout only).
    """
    if not _INTERACTIVE["enabled"]:
        logging.getLogger("lamina").info(message)
        return
    text = message + "\n" if line_break else message
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:
        # A stdout without UTF-8 (e.g. a C locale) cannot show the bar glyph.
        encoding = getattr(sys.stdout, "encoding", None) or "ascii"
        sys.stdout.write(text.encode(encoding, "replace").decode(encoding))
    sys.stdout.flush()
