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


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class TreeRss:
    """Samples the summed RSS of a process and all its descendants every `interval` seconds.

    A child that still runs its parent's command line is a fork that has not yet exec'd (Python's
    subprocess forks, then runs the program): it shares its parent's pages, which RSS would count
    twice, so it is left out. Without this, a long batch (a fork per Tesseract run) is more likely
    to be sampled mid-fork and seemed to need 250 MB more than a short one.
    """

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self._root = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.peak_bytes = 0
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
        return sum(
            rss
            for cmdline, ppid, rss in seen.values()
            if ppid not in seen or seen[ppid][0] != cmdline  # not a fork before its exec
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._sample())
            self._stop.wait(self._interval)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


OCR_WORKER = "arhiva.ocr.worker"  # in the command line of arhiva's resident Tesseracts
SAMPLE_INTERVAL_S = 0.2


class OcrCpu:
    """CPU seconds of arhiva's resident Tesseracts (`python -m arhiva.ocr.worker`) among this
    process's descendants while the block runs, by the process that started them.

    Reads every `SAMPLE_INTERVAL_S` (psutil), and once more on leaving (a Dask worker's
    Tesseracts are still there, idle); the last reading of each counts. For a Tesseract already
    running on entry, only its CPU since then counts.
    """

    def __init__(self, names: dict[int, str] | None = None) -> None:
        self._names = names or {}  # pid of a known parent: its name
        self._root = psutil.Process()
        self._start: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._parent: dict[int, str] = {}  # Tesseract pid: its parent's name, at first sight
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _parent_name(self, ppid: int) -> str:
        if ppid in self._names:
            return self._names[ppid]
        try:
            cmdline = psutil.Process(ppid).cmdline()
        except psutil.Error:
            cmdline = []
        return "flow process" if cmdline[1:4] == ["-m", "arhiva", "ingest"] else f"pid {ppid}"

    def _read(self) -> dict[int, float]:
        cpu: dict[int, float] = {}
        try:
            procs = self._root.children(recursive=True)
        except psutil.Error:
            return cpu
        for p in procs:
            try:  # it may end between listing and reading
                if OCR_WORKER not in p.cmdline():
                    continue
                if p.pid not in self._parent:
                    self._parent[p.pid] = self._parent_name(p.ppid())
                t = p.cpu_times()
            except psutil.Error:
                continue
            cpu[p.pid] = t.user + t.system
        return cpu

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self._last.update(self._read())

    def __enter__(self) -> OcrCpu:
        self._start = self._read()
        self._last = dict(self._start)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._last.update(self._read())

    def by_process(self) -> dict[str, float]:
        """CPU seconds by the name of the parent process, sorted by name."""
        total: dict[str, float] = {}
        for pid, cpu in self._last.items():
            name = self._parent[pid]
            total[name] = total.get(name, 0.0) + cpu - self._start.get(pid, 0.0)
        return {name: round(total[name], 2) for name in sorted(total)}


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
    return Timed(wall_s=wall, cpu_s=cpu, peak_rss_mb=round(rss.peak_bytes / 2**20, 1)), done


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
