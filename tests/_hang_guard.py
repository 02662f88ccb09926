"""A hang guard for tests of inputs that once hung: fail after a generous limit, never time.

Wall-clock asserts (``elapsed < 2 s``) flake on a loaded machine (issue 25); the timings
live in ``benchmarks/bench_untrusted.py``. What a test still needs is to stop and fail
when a regression makes an input quadratic again, instead of blocking the suite.
"""
from __future__ import annotations

import contextlib
import signal
import threading

#: Seconds before a guarded block fails: ~100x what the guarded reads take on a quiet machine.
HANG_GUARD_S = 60


class Hang(AssertionError):
    """The guarded block ran past :data:`HANG_GUARD_S` (a hang or a quadratic regression)."""


@contextlib.contextmanager
def hang_guard(seconds: int = HANG_GUARD_S):
    """Fail the test with :class:`Hang` when the block runs longer than `seconds`."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield  # no alarm on this platform/thread: the suite's own timeout guards
        return

    def _fire(signum, frame):
        raise Hang(f"still running after {seconds} s: a hang or a quadratic regression")

    old = signal.signal(signal.SIGALRM, _fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
