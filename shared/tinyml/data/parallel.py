"""Run generator jobs in forked worker processes, with a progress bar, results in job order.

Generators are modules loaded by file path, so their functions can't be pickled by reference for a
multiprocessing Pool; a forked child already has them, and only the results travel back through a queue.
Where fork is unavailable (or workers is 1) the jobs run in-process. Results don't depend on `workers`.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import TinymlError


def run_forked(fn: Callable[[Any], Any], jobs: Sequence[Any], *, workers: int, name: str, unit: str,
               progress: bool) -> list[Any]:
    """[fn(job) for job in jobs], computed by up to `workers` forked processes."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc=name, unit=unit)
    n_workers = max(1, min(int(workers), len(jobs), os.cpu_count() or 1))
    if n_workers > 1:
        import multiprocessing as mp

        if "fork" not in mp.get_all_start_methods():  # e.g. Windows: run in-process
            n_workers = 1
    out: dict[int, Any] = {}
    try:
        if n_workers == 1:
            for i, job in enumerate(jobs):
                out[i] = fn(job)
                if bar:
                    bar.update(1)
        else:
            _run_workers(fn, jobs, n_workers, name, out, bar)
    finally:
        if bar:
            bar.close()
    return [out[i] for i in range(len(jobs))]


def _run_workers(fn, jobs, n_workers, name, out, bar) -> None:
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    indexed = list(enumerate(jobs))
    procs = [ctx.Process(target=_worker, args=(fn, indexed[w::n_workers], queue), daemon=True)
             for w in range(n_workers)]
    for p in procs:
        p.start()
    try:
        for _ in range(len(jobs)):
            i, result = queue.get()
            if i < 0:
                raise TinymlError(f"{name}: a worker failed: {result}")
            out[i] = result
            if bar:
                bar.update(1)
    finally:
        for p in procs:
            if p.is_alive() and len(out) < len(jobs):
                p.terminate()
            p.join()


def _worker(fn, items, queue) -> None:
    for i, job in items:
        try:
            queue.put((i, fn(job)))
        except BaseException as e:  # report instead of leaving the parent waiting
            last = traceback.format_exc().strip().splitlines()[-3:]
            queue.put((-1, f"{e.__class__.__name__}: {e} | {' / '.join(x.strip() for x in last)}"))
            return
