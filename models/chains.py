"""The workforce's stories as chains of SimPy events with callbacks, not a process each.

A person's career, absences and internal move, and a vacancy's agency cover and
recruitment, are each one or two waits. Run as ``simpy.Process`` each would also cost an
urgent start event, an end event nobody waits for, and a generator resumed at every step.
Chained on events' callbacks they meet the same events at the same moments: ``soon`` is
an urgent event in this instant, as a new process's first step is, and ``later`` a
timeout, as a process's wait is. So a run is the same bit for bit (events keep their
relative order; only the unused end events are gone), with fewer events
(``tests/test_chains.py`` compares them with the processes they replaced).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simpy.core import URGENT


def soon(env: Any, action: Callable[..., None], *args: Any) -> None:
    """``action(*args)`` in this instant, after what runs now: when a process started
    now would take its first step."""
    event = env.event()
    event._ok, event._value = True, None  # triggered, as simpy.events.Initialize is
    event.callbacks.append(lambda _: action(*args))
    env.schedule(event, URGENT)


def later(env: Any, delay: float, action: Callable[..., None], *args: Any) -> None:
    """``action(*args)`` ``delay`` days from now (a timeout's callback)."""
    env.timeout(delay).callbacks.append(lambda _: action(*args))


def after(env: Any, delay: float, action: Callable[..., None], *args: Any) -> None:
    """``action(*args)`` ``delay`` days from now, timed as a process started now whose
    first step waits ``delay``: the timeout is set at that first step."""
    soon(env, later, env, delay, action, *args)
