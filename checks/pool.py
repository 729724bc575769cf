"""Parse many files across processes, so that a file that crashes or hangs its worker costs
that file only (reported), never the run.

A small pool of our own rather than concurrent.futures: ProcessPoolExecutor breaks every
pending task when one worker dies and cannot stop a single hung task. Here the parent hands
each worker one item at a time over its own pipe, so it always knows which item a worker
holds; a worker that dies or overruns its time is replaced, and its item becomes a failure.
Results come back in the order of the input.

Workers never outlive the scan: each closes the parent's ends of the pipes it inherited (so
that the parent's death is an end of file), asks Linux to kill it when its parent dies, and
elsewhere looks every second whether its parent is still there; Ctrl-C and SIGTERM are the
parent's to handle, which kills its workers on the way out.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Any

DEFAULT_TIMEOUT = 60.0  # seconds one file may take
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _worker(func: Callable, conn: Any, inherited: list, parent: int) -> None:
    for other in inherited:
        other.close()  # the parent's ends: open here, the parent's death is never an EOF
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which ends us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent)
    while True:
        while not conn.poll(1.0):
            if os.getppid() != parent:  # orphaned, where no death signal is sent
                return
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        try:
            value = func(item)
        except Exception as exc:  # a bug in a parser must not cost other files
            value = exc
        try:
            conn.send(value)
        except OSError:  # the parent is gone
            return


def _die_with_parent(parent: int) -> None:
    """On Linux, the kernel kills this process when its parent dies, even mid-file."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # it died before the request was made
        os._exit(0)


class _Slot:
    """One worker process, its pipe, and the item it holds."""

    def __init__(self, ctx: Any, func: Callable, others: list[_Slot]) -> None:
        self.conn, child = ctx.Pipe()
        # a forked child holds copies of every parent end open now: it closes them
        inherited = [s.conn for s in others] + [self.conn] if _forks(ctx) else []
        self.proc = ctx.Process(
            target=_worker, args=(func, child, inherited, os.getpid()), daemon=True
        )
        self.proc.start()
        child.close()
        self.index: int | None = None
        self.started = 0.0

    def give(self, index: int, item: Any) -> None:
        self.index, self.started = index, time.monotonic()
        self.conn.send(item)

    def stop(self, at_once: bool = False) -> None:
        if not at_once:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.proc.join(0.5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(1)
        self.conn.close()


def _forks(ctx: Any) -> bool:
    return ctx.get_start_method() == "fork"


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
            slot = _Slot(ctx, func, slots)
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
                slot.conn.close()
                if pending:
                    fresh = _Slot(ctx, func, slots)
                    slots.append(fresh)
                    feed(fresh)
    except BaseException:  # Ctrl-C, SIGTERM: the workers go at once, with the parent
        for slot in slots:
            slot.stop(at_once=True)
        raise
    for slot in slots:
        slot.stop()
    return out
