"""Parse many files across processes, so that a file that crashes or hangs its worker costs
that file only (reported), never the run.

A small pool of our own rather than concurrent.futures: ProcessPoolExecutor breaks every
pending task when one worker dies and cannot stop a single hung task. Here the parent hands
each worker one item at a time over its own pipe, so it always knows which item a worker
holds; a worker that dies or overruns its time is replaced, and its item becomes a failure.
Results come back in the order of the input.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Any

DEFAULT_TIMEOUT = 60.0  # seconds one file may take


def _worker(func: Callable, conn: Any) -> None:
    while True:
        item = conn.recv()
        if item is None:
            return
        try:
            value = func(item)
        except Exception as exc:  # a bug in a parser must not cost other files
            value = exc
        conn.send(value)


class _Slot:
    """One worker process, its pipe, and the item it holds."""

    def __init__(self, ctx: Any, func: Callable) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(func, child), daemon=True)
        self.proc.start()
        child.close()
        self.index: int | None = None
        self.started = 0.0

    def give(self, index: int, item: Any) -> None:
        self.index, self.started = index, time.monotonic()
        self.conn.send(item)

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(0.5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(1)


def parallel_map(
    func: Callable[[Any], Any],
    items: list,
    jobs: int,
    on_failure: Callable[[Any, str], Any],
    timeout: float = DEFAULT_TIMEOUT,
) -> list:
    """`[func(x) for x in items]` on `jobs` processes. A worker that dies or overruns
    `timeout` on an item gives `on_failure(item, reason)` for that item."""
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    out: list = [None] * len(items)
    pending = list(range(len(items)))
    pending.reverse()  # pop() from the end hands items out in input order
    slots: list[_Slot] = []

    def feed(slot: _Slot) -> None:
        if pending:
            index = pending.pop()
            slot.give(index, items[index])
        else:
            slot.index = None

    try:
        for _ in range(max(1, min(jobs, len(items)))):
            slot = _Slot(ctx, func)
            slots.append(slot)
            feed(slot)
        while any(s.index is not None for s in slots):
            busy = [s for s in slots if s.index is not None]
            ready = wait([s.conn for s in busy] + [s.proc.sentinel for s in busy], timeout=0.2)
            now = time.monotonic()
            for slot in busy:
                index = slot.index
                if slot.conn in ready:
                    try:
                        value = slot.conn.recv()
                    except (EOFError, OSError):
                        value = None  # died while sending: judged below as a dead worker
                    else:
                        out[index] = (
                            on_failure(items[index], f"parser error: {value}")
                            if isinstance(value, Exception)
                            else value
                        )
                        feed(slot)
                        continue
                dead = not slot.proc.is_alive()
                overran = now - slot.started > timeout
                if not (dead or overran):
                    continue
                if overran and not dead:
                    slot.proc.kill()
                slot.proc.join(1)
                reason = (
                    f"the parser process died (exit code {slot.proc.exitcode})"
                    if dead
                    else f"parsing took more than {timeout:g} s and was stopped"
                )
                out[index] = on_failure(items[index], reason)
                slots.remove(slot)
                if pending:
                    fresh = _Slot(ctx, func)
                    slots.append(fresh)
                    feed(fresh)
    finally:
        for slot in slots:
            slot.stop()
    return out
