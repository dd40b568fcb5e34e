"""Fixed costs: `arhiva --help` start-up, and what Prefect costs per task run.

Run from the repository root:  python -m bench.startup [--tasks 300]

- **CLI start-up**: median wall time of `arhiva --help` (the console script) over `--runs` runs,
  after one warm-up run.
- **Prefect per task**: a flow that submits `--tasks` tasks doing nothing, on the same task
  runner arhiva uses (threads, one per core plus one), with Prefect's temporary server as
  `arhiva ingest` starts it; minus the same flow with no task. Wall and CPU time (the flow's
  process and the server's) divided by the number of tasks. arhiva runs three task runs per
  page (prepare, ocr, and a share of the document's pdfa and index), so three times the per-task
  figure is what Prefect adds to each page.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.measure import machine, median_wall, num, table, timed_run, write_results

_FLOW = """
import sys
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.cache_policies import NO_CACHE

@task(cache_policy=NO_CACHE, persist_result=False)
def nothing(i: int) -> int:
    return i

@flow(task_runner=ThreadPoolTaskRunner(max_workers=int(sys.argv[2])), persist_result=False)
def many(n: int) -> int:
    return sum(f.result() for f in [nothing.submit(i) for i in range(n)])

many(int(sys.argv[1]))
"""


@dataclass(frozen=True)
class StartupResults:
    cli_help_s: float
    prefect_tasks: int
    prefect_flow_0_tasks_wall_s: float
    prefect_flow_0_tasks_cpu_s: float
    prefect_flow_n_tasks_wall_s: float
    prefect_flow_n_tasks_cpu_s: float
    prefect_ms_per_task_wall: float
    prefect_ms_per_task_cpu: float


def cli_help(runs: int) -> float:
    arhiva = Path(sys.executable).with_name("arhiva")
    cmd = [str(arhiva)] if arhiva.exists() else [sys.executable, "-m", "arhiva"]
    return median_wall([*cmd, "--help"], runs)


def prefect_per_task(tasks: int) -> tuple[float, float, float, float]:
    """(wall, CPU) of the empty flow and of the flow with `tasks` tasks."""
    tmp = Path(tempfile.mkdtemp(prefix="arhiva-bench-prefect-"))
    try:
        script = tmp / "flow.py"
        script.write_text(_FLOW)
        env = {
            **os.environ,
            "PREFECT_HOME": str(tmp / "home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",  # as arhiva sets it
        }
        env.pop("PREFECT_API_URL", None)
        workers = str((os.cpu_count() or 1) + 1)
        timed_run([sys.executable, str(script), "0", workers], env)  # creates the database
        empty, _ = timed_run([sys.executable, str(script), "0", workers], env)
        full, proc = timed_run([sys.executable, str(script), str(tasks), workers], env)
        if proc.returncode:
            raise SystemExit(f"the Prefect flow failed:\n{proc.stderr[-3000:]}")
        return empty.wall_s, empty.cpu_s, full.wall_s, full.cpu_s
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(tasks: int, runs: int) -> StartupResults:
    print(f"timing `arhiva --help` ({runs} runs) ...", flush=True)
    help_s = cli_help(runs)
    print(f"timing a Prefect flow of {tasks} empty tasks against one of none ...", flush=True)
    w0, c0, wn, cn = prefect_per_task(tasks)
    return StartupResults(
        cli_help_s=round(help_s, 3),
        prefect_tasks=tasks,
        prefect_flow_0_tasks_wall_s=round(w0, 2),
        prefect_flow_0_tasks_cpu_s=round(c0, 2),
        prefect_flow_n_tasks_wall_s=round(wn, 2),
        prefect_flow_n_tasks_cpu_s=round(cn, 2),
        prefect_ms_per_task_wall=round((wn - w0) / tasks * 1000, 1),
        prefect_ms_per_task_cpu=round((cn - c0) / tasks * 1000, 1),
    )


def rows(r: StartupResults) -> list[tuple[str, str]]:
    return [
        ("arhiva --help s (median)", num(r.cli_help_s, 3)),
        (
            "Prefect flow with no task: wall s / CPU s",
            f"{r.prefect_flow_0_tasks_wall_s} / {r.prefect_flow_0_tasks_cpu_s}",
        ),
        (f"Prefect per task ({r.prefect_tasks} tasks): wall ms", num(r.prefect_ms_per_task_wall)),
        ("Prefect per task: CPU ms (flow + server)", num(r.prefect_ms_per_task_cpu)),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.startup", description=(__doc__ or "").partition("\n")[0]
    )
    parser.add_argument("--tasks", type=int, default=300, help="empty tasks in the Prefect flow [300]")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of `arhiva --help` [7]")
    args = parser.parse_args(argv)
    info = machine()
    results = measure(args.tasks, args.runs)
    print()
    print(table(rows(results)))
    print(f"\nwrote {write_results('startup', {'machine': info, 'startup': asdict(results)})}")


if __name__ == "__main__":
    main()
