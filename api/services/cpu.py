"""CPU-bound work off the event loop: in a worker thread, with the cyclic collector paused meanwhile.

A 100,000-row import or rescoring makes millions of short-lived objects; each automatic collection of the
cyclic collector scans every live one, holding the GIL (so the event loop, so the lookups) for up to
seconds. Reference counting frees them; the collector waits until the work is done. The worker thread also
yields the GIL to the event loop after 1 ms instead of 5.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
SWITCH_SECONDS = 0.001  # while CPU work runs in a thread, the event loop waits at most this long for the GIL

_paused = 0
_switch_interval = sys.getswitchinterval()


def pause_collector() -> None:
    """Until the matching `resume_collector`: no cyclic collection, and a 1 ms GIL switch interval."""
    global _paused, _switch_interval
    if _paused == 0:
        _switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(_switch_interval, SWITCH_SECONDS))
    _paused += 1
    gc.disable()


def resume_collector() -> None:
    global _paused
    _paused -= 1
    if _paused == 0:
        # what survived (caches, indexes, requests' objects meanwhile) goes out of the collector's sight
        # first: the first collection afterwards otherwise scanned all of it, 30-50 ms on the loop
        gc.freeze()
        gc.enable()
        sys.setswitchinterval(_switch_interval)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    pause_collector()
    try:
        yield
    finally:
        resume_collector()


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a worker thread, the collector paused meanwhile."""
    with collector_paused():
        return await asyncio.to_thread(fn, *args)


RELEASE_SLICE = 2_000  # rows freed between two chances for the event loop to take the GIL


def _drain(*holders: list[Any]) -> None:
    for items in holders:
        while items:
            del items[-RELEASE_SLICE:]


async def release(*holders: list[Any]) -> None:
    """Empty large lists a slice at a time in a worker thread. Freeing 100,000 rows is one C call that
    holds the GIL throughout (30-110 ms measured per list), and the last reference to a request's rows
    usually goes on the event loop's thread, when the handler returns; each slice here lets it go. The
    lists are emptied in place: every other name for them sees them empty."""
    if any(len(items) > RELEASE_SLICE for items in holders):
        await asyncio.to_thread(_drain, *holders)
    else:
        _drain(*holders)
