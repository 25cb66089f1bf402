"""SIGTERM (a service manager, `kill`) and Ctrl-C end the gateway's long-running verbs (`gateway`, `subscribe`,
`dashboard`) the way their own end does: queues closed, a local broker and device processes stopped, the summary line
said. Python's default for SIGTERM is to die on the spot, leaving children such as the demo's mosquitto behind."""

from __future__ import annotations

import signal
from contextlib import contextmanager


@contextmanager
def stop_on_signals(stop):
    """Call `stop()` on SIGTERM, SIGINT or SIGHUP (a closed terminal) while inside; the handlers before are put
    back after."""
    before = {s: signal.signal(s, lambda signum, frame: stop()) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
