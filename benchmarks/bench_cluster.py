"""Sweep tasks per second on a Ray cluster of 1 and of 2 workers on this machine, and their ratio.

The tasks are what ``rgviz-batch sweep --executor ray`` sends: one-size sweeps (:func:`engine.sweep.size_tasks`),
here ``--tasks`` sizes of equal cost (the same L, distinct seeds). Each cluster is a local Ray instance with
``num_cpus`` = the worker count, started before its clock starts (Ray takes about 10 s to start); the clock runs
from the first submission to the last result, so it includes shipping tasks and results. The in-process run of
the same tasks, one after another, is the baseline: it shows what the cluster's overhead costs per task; the
round trip of an empty task on the warm cluster (``--empty`` of them) is the scheduling overhead alone.
Ray runs its workers at nice 15 (its default ``RAY_worker_niceness``) and the baseline at the caller's priority.

On a loaded machine (other processes on the same cores) the 2-worker figure is what the cores left over give;
compare it with the load printed beside it.

    python benchmarks/bench_cluster.py --tasks 8 --L 24 --sweeps 400 --out benchmarks/results/bench_cluster.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _nothing(x):
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--L", type=int, default=24)
    parser.add_argument("--temperatures", type=int, default=4)
    parser.add_argument("--sweeps", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--empty", type=int, default=200, help="empty tasks timed for the overhead per task")
    parser.add_argument("--out", default="benchmarks/results/bench_cluster.json")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    import numpy as np
    import ray
    import torch

    from engine.cluster import RayExecutor
    from engine.sweep import SweepConfig, run_size_task

    torch.set_num_threads(1)
    base = SweepConfig("ising", (args.L,), tuple(np.linspace(2.1, 2.5, args.temperatures)), "metropolis",
                       args.sweeps, args.sweeps // 10, device="cpu")
    tasks = [replace(base, seed=seed) for seed in range(args.tasks)]
    rows = []

    t0 = time.perf_counter()
    local = [run_size_task(t) for t in tasks]
    rows.append({"workers": "in-process", "seconds": time.perf_counter() - t0, "load": os.getloadavg()[0]})
    for n in args.workers:
        ray.init(address="local", num_cpus=n, include_dashboard=False, log_to_driver=False)
        try:
            t0 = time.perf_counter()
            parts = RayExecutor().map(run_size_task, tasks)
            rows.append({"workers": n, "seconds": time.perf_counter() - t0, "load": os.getloadavg()[0]})
            t0 = time.perf_counter()
            RayExecutor().map(_nothing, range(args.empty))
            rows[-1]["empty_task_ms"] = 1e3 * (time.perf_counter() - t0) / args.empty
        finally:
            ray.shutdown()
        same = all(np.array_equal(a.sizes[args.L].series["energy"], b.sizes[args.L].series["energy"])
                   for a, b in zip(local, parts))
        rows[-1]["same_numbers_as_in_process"] = same
    for row in rows:
        row["tasks_per_second"] = args.tasks / row["seconds"]
    by = {row["workers"]: row["tasks_per_second"] for row in rows}
    ratio = by[2] / by[1] if 1 in by and 2 in by else None

    print(f"{args.tasks} tasks: Ising L = {args.L}, {args.temperatures} temperatures, {args.sweeps} sweeps "
          f"(+{base.thermalize}), Metropolis; {os.cpu_count()} cores")
    print(f"{'workers':>11} {'seconds':>8} {'tasks/s':>8} {'load (1 min)':>13} {'empty task ms':>14}")
    for row in rows:
        empty = f"{row['empty_task_ms']:14.1f}" if "empty_task_ms" in row else f"{'':14}"
        print(f"{row['workers']!s:>11} {row['seconds']:8.2f} {row['tasks_per_second']:8.3f} {row['load']:13.2f} {empty}")
    if ratio is not None:
        print(f"2 workers / 1 worker: {ratio:.2f}x tasks per second")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"config": vars(args), "rows": rows, "ratio_2_over_1": ratio, "cores": os.cpu_count(),
                               "machine": platform.machine(), "ray": ray.__version__}, indent=2))


if __name__ == "__main__":
    main()
