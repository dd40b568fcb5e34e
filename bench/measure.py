"""What every benchmark needs: timed subprocesses with the peak memory of their whole process tree."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Timed:
    wall_s: float
    cpu_s: float  # user + system time of the finished child processes (and their children)
    peak_rss_mb: float  # largest sum of RSS over the process and all its descendants at one time
    ocr_cpu_s: float = 0.0  # CPU seconds of arhiva's resident Tesseracts (`arhiva.ocr.worker`) in it


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class TreeRss:
    """Samples the summed RSS of a process and all its descendants every `interval` seconds.

    A child that still runs its parent's command line is a fork that has not yet exec'd (Python's
    subprocess forks, then runs the program): it shares its parent's pages, which RSS would count
    twice, so it is left out. Without this, a long batch (a fork per Tesseract run) is more likely
    to be sampled mid-fork and seemed to need 250 MB more than a short one.

    It also keeps the last CPU time read of each of arhiva's resident Tesseracts (processes running
    `arhiva.ocr.worker`): they idle once the last page is done, so the last reading is their total.
    """

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self._root = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.peak_bytes = 0
        self._ocr_cpu: dict[int, float] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        try:
            procs = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return 0
        seen: dict[int, tuple[list[str], int, int]] = {}  # pid: command line, parent pid, RSS
        for p in procs:
            with contextlib.suppress(psutil.Error):  # it ended between listing and reading
                seen[p.pid] = (p.cmdline(), p.ppid(), p.memory_info().rss)
                if "arhiva.ocr.worker" in seen[p.pid][0]:
                    cpu = p.cpu_times()
                    self._ocr_cpu[p.pid] = cpu.user + cpu.system
        return sum(
            rss
            for cmdline, ppid, rss in seen.values()
            if ppid not in seen or seen[ppid][0] != cmdline  # not a fork before its exec
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._sample())
            self._stop.wait(self._interval)

    @property
    def ocr_cpu_s(self) -> float:
        return sum(self._ocr_cpu.values())

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed_run(
    cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[Timed, subprocess.CompletedProcess[str]]:
    """Run a command to its end; wall and CPU time, and the peak RSS of its process tree."""
    cpu0, t0 = children_cpu(), time.perf_counter()
    with (
        subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as proc,
        TreeRss(proc.pid) as rss,
    ):
        out, err = proc.communicate()
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
    done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    peak = round(rss.peak_bytes / 2**20, 1)
    return Timed(wall_s=wall, cpu_s=cpu, peak_rss_mb=peak, ocr_cpu_s=round(rss.ocr_cpu_s, 2)), done


def median_wall(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of `runs` runs of a short command (after one untimed warm-up run)."""
    subprocess.run(cmd, env=env, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def tesseract_version() -> str:
    proc = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False)
    return (proc.stdout or proc.stderr).splitlines()[0].strip()


def git_describe() -> str | None:
    proc = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=Path(__file__).resolve().parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or None


def machine() -> dict[str, object]:
    return {
        "cpu_count": os.cpu_count() or 1,
        "load_1min": round(os.getloadavg()[0], 2),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "tesseract": tesseract_version(),
        "git": git_describe(),
    }


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v:>10}" for k, v in rows)


def num(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def write_results(name: str, payload: dict[str, object]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"{name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out
