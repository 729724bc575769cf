"""Parse many files across processes, so that a file that crashes or hangs its worker costs
that file only (reported), never the run.

A small pool of our own rather than concurrent.futures: ProcessPoolExecutor breaks every
pending task when one worker dies and cannot stop a single hung task. Here each worker says
which file it starts; a worker that dies or overruns its time is replaced, and the file it
held becomes a Problem. Results come back in the order of the input.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from collections.abc import Callable
from typing import Any

DEFAULT_TIMEOUT = 60.0  # seconds one file may take


def _worker(func: Callable, tasks: Any, results: Any) -> None:
    while True:
        item = tasks.get()
        if item is None:
            return
        index, arg = item
        results.put(("start", index, os.getpid()))
        try:
            value = func(arg)
        except Exception as exc:  # a bug in a parser must not cost other files
            value = exc
        results.put(("done", index, value))


def parallel_map(
    func: Callable[[Any], Any],
    items: list,
    jobs: int,
    on_failure: Callable[[Any, str], Any],
    timeout: float = DEFAULT_TIMEOUT,
) -> list:
    """`[func(x) for x in items]` on `jobs` processes. A worker that dies or overruns
    `timeout` on an item gives `on_failure(item, reason)` for that item."""
    if not items:
        return []
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    tasks = ctx.Queue()
    results = ctx.Queue()
    for pair in enumerate(items):
        tasks.put(pair)
    jobs = max(1, min(jobs, len(items)))
    workers: dict[int, Any] = {}

    def spawn() -> None:
        proc = ctx.Process(target=_worker, args=(func, tasks, results), daemon=True)
        proc.start()
        workers[proc.pid] = proc

    for _ in range(jobs):
        spawn()
    out: list = [None] * len(items)
    done = [False] * len(items)
    running: dict[int, tuple[int, float]] = {}  # pid -> (index, started)
    remaining = len(items)
    progress = time.monotonic()
    try:
        while remaining:
            try:
                kind, index, value = results.get(timeout=0.2)
                progress = time.monotonic()
            except queue.Empty:
                kind = None
                if not running and time.monotonic() - progress > timeout + 5:
                    # a task vanished with a worker before it said it started: give up on
                    # what is left rather than wait forever
                    for i, finished in enumerate(done):
                        if not finished:
                            done[i] = True
                            out[i] = on_failure(items[i], "the parser process was lost")
                    break
            if kind == "start":
                running[value] = (index, time.monotonic())
            elif kind == "done" and not done[index]:
                done[index] = True
                remaining -= 1
                out[index] = (
                    on_failure(items[index], f"parser error: {value}")
                    if isinstance(value, Exception)
                    else value
                )
                for pid, (i, _) in list(running.items()):
                    if i == index:
                        del running[pid]
            now = time.monotonic()
            for pid, proc in list(workers.items()):
                held = running.get(pid)
                overran = held is not None and now - held[1] > timeout
                if proc.is_alive() and not overran:
                    continue
                if overran:
                    proc.kill()
                proc.join(1)
                del workers[pid]
                running.pop(pid, None)
                if held is not None and not done[held[0]]:
                    reason = (
                        f"parsing took more than {timeout:g} s and was stopped"
                        if overran
                        else f"the parser process died (exit code {proc.exitcode})"
                    )
                    done[held[0]] = True
                    remaining -= 1
                    out[held[0]] = on_failure(items[held[0]], reason)
                if remaining:
                    spawn()
    finally:
        for _ in workers:
            tasks.put(None)
        for proc in workers.values():
            proc.join(0.5)
            if proc.is_alive():
                proc.kill()
    return out
