"""Dask cluster benchmark: what does running the page work on a Dask cluster cost or gain?

Run from the repository root:  python -m bench.cluster [--pages 20]

What is measured, all in one run on the same pages:

1. A sample batch of about `--pages` A4 pages is generated with the project's own generator
   (`arhiva.samples.batch.write_batch`, through `bench.ingest.generate`) in a temporary folder.
   Generation is not timed.
2. Prefect runs without a server (no PREFECT_API_URL, so each command starts Prefect's ephemeral
   server) with PREFECT_HOME in the temporary folder and PREFECT_SERVER_ANALYTICS_ENABLED=false.
   An untimed ingest of an empty folder creates Prefect's database first, so neither mode pays
   for that (it adds about 15 s to whichever command comes first).
3. **Local**: `python -m arhiva ingest BATCH --archive ARCHIVE` as a subprocess, pages on local
   threads (one per core by default), then the same command again on the archived batch: that
   second run has nothing to do, so its wall time is the fixed overhead of one invocation.
4. **Dask**: a scheduler (`dask scheduler --host 127.0.0.1 --port PORT --no-dashboard`) and two
   workers (`dask worker ADDRESS --nthreads 1 --no-nanny --host 127.0.0.1 --no-dashboard`) start
   as separate processes; the benchmark waits until both workers have joined, untimed (on a real
   cluster they would already be running). Then the same command with `--cluster ADDRESS` runs
   into a fresh archive, and again on that archived batch for its fixed overhead. The scheduler
   and workers are stopped at the end (terminated; killed if still alive after 10 s).

Fresh workers matter. Without PREFECT_API_URL every worker starts its own temporary Prefect
server when it runs its first task (seen in the worker logs as "Starting temporary server"), and
imports arhiva and Prefect's task engine: several seconds per worker, paid once per worker process.
By default the workers are fresh, so the first Dask ingest pays for this and the overhead run,
which submits no task, does not: it lands in Dask's "pages/min excl. overhead". With
`--warm-workers` an untimed Dask ingest of a separate small batch (at least 4 pages) runs first,
as on a cluster whose workers have been up for a while; compare both to see the one-time share.

Wall time of each command is the headline figure. "Pages/min excl. overhead" divides the pages by
(first run - second run), i.e. the time spent on the pages themselves. The page count is the one
the command prints ("N pages OCRed in S s").

CPU time is recorded too. The command's own: getrusage of the benchmark's finished children, which
includes the resident Tesseracts of the flow process in local mode (the flow process waits for
them as it exits). In Dask mode, that of the scheduler and workers: their own user + system time
and their finished children (psutil), plus the CPU of the workers' resident Tesseracts, which are
still running (below).

Who ran the OCR: each process that OCRs pages (the flow process in local mode, each Dask worker
with `--cluster`) starts resident Tesseracts, `python -m arhiva.ocr.worker`, as its children.
While each ingest runs, every 0.2 s, psutil lists the benchmark's descendants (the ingest command
and its children, the scheduler, the workers and theirs) and reads the user + system CPU seconds
of every `arhiva.ocr.worker` among them, with its parent process; the last reading of each counts.
A Dask worker's resident Tesseracts stay up, idle, from one ingest to the next, so for those
already running when an ingest starts only the difference between before and after it counts;
those of the flow process end with it, after their last page, when they are idle. The sums by
parent are `ocr_cpu_s_by_process` ("flow process", "worker-1", "worker-2"): they show that the
OCR really ran on the Dask workers, not in the flow process, and whether both took a share. A
Tesseract started during an ingest includes its own start-up and its loading of the language
model (once per process), so fresh Dask workers and every local run pay that; a Tesseract that
ended between two readings loses at most 0.2 s of its CPU.

Caveat: on one machine with 2 cores, the two Dask workers compete with the flow process (which
still assembles PDF/A documents and indexes them) and with the scheduler for the same two cores,
so this measures the overhead of distribution (serialising tasks, the scheduler round trips,
workers' own Prefect start-up) rather than a speed-up. On several machines each worker brings its
own cores and the page work scales with them; the figures here are then a floor for the cost per
invocation, not a forecast. Other work on the machine skews everything: the 1-minute load average
is recorded at the start, before each mode (before Dask mode it still shows the local run just
finished) and at the end. There are no timed asserts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

import arhiva
from bench.ingest import generate, run_ingest
from bench.measure import OcrCpu, git_describe, tesseract_version

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BIN = Path(sys.executable).parent
STOP_TIMEOUT_S = 10.0
START_TIMEOUT_S = 60.0
IDLE_CPU_S = 0.1  # more OCR CPU than this in one ingest: the process really OCRed pages


@dataclass(frozen=True)
class ModeResult:
    mode: str  # "local" or "dask"
    load_1min_before: float
    wall_s: float
    flow_s: float | None
    pages_ocred: int | None
    cpu_s: float  # the ingest command (and, in local mode, its resident Tesseracts)
    cluster_cpu_s: float | None  # scheduler + workers + their resident Tesseracts, dask only
    overhead_wall_s: float  # the same command on the already archived batch
    overhead_cluster_cpu_s: float | None
    pages_per_min: float
    pages_per_min_excl_overhead: float | None
    ocr_cpu_s: float  # all resident Tesseracts (`arhiva.ocr.worker`) during the first ingest
    # the same, by the process that started them ("flow process", "worker-1", ...)
    ocr_cpu_s_by_process: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Results:
    timestamp: str
    pages: int
    files: int
    cpu_count: int
    dask_workers: int
    dask_threads_per_worker: int
    dask_workers_warmed: bool  # --warm-workers: an untimed Dask ingest ran before the timed one
    load_1min_at_start: float
    load_1min_at_end: float
    local: ModeResult
    dask: ModeResult
    ratio_dask_to_local_wall: float
    ratio_dask_to_local_pages_per_min_excl_overhead: float | None
    arhiva_version: str
    dask_version: str
    tesseract_version: str
    python: str
    git: str | None


def _ocred(by_process: dict[str, float]) -> set[str]:
    """The processes whose Tesseracts really OCRed (not just idled)."""
    return {name for name, cpu in by_process.items() if cpu > IDLE_CPU_S}


# --- the cluster ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A Dask scheduler and `workers` single-threaded workers, each its own process."""

    def __init__(self, env: dict[str, str], logs: Path, workers: int = 2) -> None:
        self.env, self.logs, self.workers = env, logs, workers
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _spawn(self, name: str, cmd: list[str]) -> None:
        with open(self.logs / f"{name}.log", "wb") as out:
            self.procs[name] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env)

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        dask = str(BIN / "dask")
        self._spawn(
            "scheduler",
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"],
        )
        self._wait_for_port()
        for n in range(self.workers):
            self._spawn(
                f"worker-{n + 1}",
                [
                    dask,
                    "worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                ],
            )
        self._wait_for_workers()

    def _wait_for_port(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(
            f"the Dask scheduler did not listen on {self.address} within {START_TIMEOUT_S:.0f} s"
        )

    def _wait_for_workers(self) -> None:
        from distributed import Client

        with Client(self.address, timeout=START_TIMEOUT_S) as client:
            try:
                client.wait_for_workers(self.workers, timeout=START_TIMEOUT_S)
            except TimeoutError:
                self.check_alive()
                raise SystemExit(
                    f"{self.workers} Dask workers did not join within {START_TIMEOUT_S:.0f} s"
                ) from None

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"Dask {name} exited with code {proc.returncode}:\n{tail}")

    def pid_names(self) -> dict[int, str]:
        return {p.pid: name for name, p in self.procs.items()}

    def cpu_s(self) -> float | None:
        """User + system seconds of the scheduler and workers so far, with their finished children
        (not their resident Tesseracts, which are still running: see `OcrCpu`)."""
        total = 0.0
        for proc in self.procs.values():
            try:
                t = psutil.Process(proc.pid).cpu_times()
            except psutil.Error:
                return None
            total += t.user + t.system + t.children_user + t.children_system
        return total

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- ingest runs ---------------------------------------------------------------------------------


def _cluster_cpu(
    after: float | None, before: float | None, ocr: dict[str, float], cluster: Cluster
) -> float | None:
    """The scheduler's and workers' CPU between two readings, with their resident Tesseracts'."""
    if after is None or before is None:
        return None
    names = set(cluster.pid_names().values())
    return round(after - before + sum(cpu for name, cpu in ocr.items() if name in names), 2)


def measure_mode(
    mode: str,
    batch: Path,
    archive: Path,
    pages: int,
    env: dict[str, str],
    cluster: Cluster | None = None,
) -> ModeResult:
    """The first ingest of the batch and a second one on the archived batch, in one mode."""
    load = os.getloadavg()[0]
    address = cluster.address if cluster else None
    names = cluster.pid_names() if cluster else {}

    print(f"[{mode}] running arhiva ingest ...", flush=True)
    cpu0 = cluster.cpu_s() if cluster else None
    with OcrCpu(names) as ocr:
        first = run_ingest(batch, archive, env, address)
    cpu1 = cluster.cpu_s() if cluster else None
    by_process = ocr.by_process()
    print(f"[{mode}] OCR CPU s by process: {by_process}", flush=True)

    print(f"[{mode}] running arhiva ingest again on the archived batch (fixed overhead) ...", flush=True)
    with OcrCpu(names) as ocr_again:
        again = run_ingest(batch, archive, env, address)
    cpu2 = cluster.cpu_s() if cluster else None
    if cluster:
        cluster.check_alive()

    if first.pages_ocred is not None and first.pages_ocred != pages:
        print(f"warning: [{mode}] arhiva reports {first.pages_ocred} pages OCRed, the batch has {pages}")
    if again.pages_ocred or _ocred(ocr_again.by_process()):
        print(
            f"warning: [{mode}] the overhead run OCRed {again.pages_ocred} pages "
            f"(OCR CPU s {ocr_again.by_process()}); overhead is overstated"
        )
    work_s = first.wall_s - again.wall_s
    return ModeResult(
        mode=mode,
        load_1min_before=round(load, 2),
        wall_s=round(first.wall_s, 2),
        flow_s=first.flow_s,
        pages_ocred=first.pages_ocred,
        cpu_s=round(first.cpu_s, 2),
        cluster_cpu_s=_cluster_cpu(cpu1, cpu0, by_process, cluster) if cluster else None,
        overhead_wall_s=round(again.wall_s, 2),
        overhead_cluster_cpu_s=(
            _cluster_cpu(cpu2, cpu1, ocr_again.by_process(), cluster) if cluster else None
        ),
        pages_per_min=round(pages / first.wall_s * 60, 2),
        pages_per_min_excl_overhead=round(pages / work_s * 60, 2) if work_s > 0 else None,
        ocr_cpu_s=round(sum(by_process.values()), 2),
        ocr_cpu_s_by_process=by_process,
    )


def warm_up_workers(tmp: Path, seed: int, env: dict[str, str], cluster: Cluster) -> None:
    """Untimed: an ingest of a small batch of other pages, so every worker runs its first tasks."""
    print("warming up the workers (untimed Dask ingest of a small batch, at least 4 pages) ...", flush=True)
    t0 = time.perf_counter()
    warm, _ = generate(tmp / "warm-up", 4, seed + 1)
    with OcrCpu(cluster.pid_names()) as ocr:
        run_ingest(warm, tmp / "archive-warm-up", env, cluster.address)
    by_process = ocr.by_process()
    print(f"warm-up took {time.perf_counter() - t0:.1f} s; OCR CPU s by process: {by_process}")
    if not set(cluster.pid_names().values()) - {"scheduler"} <= _ocred(by_process):
        print("warning: not every worker OCRed a page during the warm-up")


# --- report --------------------------------------------------------------------------------------


def _table(r: Results) -> str:
    def num(x: float | None, digits: int = 1) -> str:
        return "-" if x is None else f"{x:.{digits}f}"

    def by_process(m: ModeResult) -> str:
        return ", ".join(f"{k} {v:.1f}" for k, v in m.ocr_cpu_s_by_process.items()) or "-"

    loc, dsk = r.local, r.dask
    rows = [
        ("pages", str(r.pages), str(r.pages)),
        ("wall s", num(loc.wall_s), num(dsk.wall_s)),
        ("pages/min", num(loc.pages_per_min), num(dsk.pages_per_min)),
        (
            "pages/min excl. overhead",
            num(loc.pages_per_min_excl_overhead),
            num(dsk.pages_per_min_excl_overhead),
        ),
        (
            "fixed overhead s (ingest of an archived batch)",
            num(loc.overhead_wall_s),
            num(dsk.overhead_wall_s),
        ),
        ("flow s (as printed by arhiva)", num(loc.flow_s), num(dsk.flow_s)),
        ("CPU s of the ingest command (incl. children)", num(loc.cpu_s), num(dsk.cpu_s)),
        ("CPU s of scheduler + workers (incl. their OCR)", "-", num(dsk.cluster_cpu_s)),
        ("CPU s of resident Tesseracts (arhiva.ocr.worker)", num(loc.ocr_cpu_s), num(dsk.ocr_cpu_s)),
        ("1-min load average before", num(loc.load_1min_before, 2), num(dsk.load_1min_before, 2)),
    ]
    width = max(len(k) for k, _, _ in rows)
    head = f"{'':<{width}}  {'local':>8}  {'dask':>8}"
    lines = [head, "-" * len(head)] + [f"{k:<{width}}  {a:>8}  {b:>8}" for k, a, b in rows]
    lines += [
        "-" * len(head),
        f"{'ratio dask / local wall':<{width}}  {num(r.ratio_dask_to_local_wall, 2):>18}",
        f"{'ratio dask / local pages/min excl. overhead':<{width}}  "
        f"{num(r.ratio_dask_to_local_pages_per_min_excl_overhead, 2):>18}",
        "",
        f"OCR CPU s by process, local: {by_process(loc)}",
        f"OCR CPU s by process, dask:  {by_process(dsk)}",
        f"{r.cpu_count} cores; {r.dask_workers} Dask workers x {r.dask_threads_per_worker} thread "
        f"({'warmed up' if r.dask_workers_warmed else 'fresh'}); "
        f"1-min load average {r.load_1min_at_start:.2f} at start, {r.load_1min_at_end:.2f} at end",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cluster", description=(__doc__ or "").partition("\n")[0]
    )
    parser.add_argument("--pages", type=int, default=20, help="pages to generate (at least) [20]")
    parser.add_argument("--seed", type=int, default=1, help="sample generator seed [1]")
    parser.add_argument(
        "--warm-workers",
        action="store_true",
        help="run an untimed Dask ingest of a small batch first, so the timed one finds workers "
        "that have already started their Prefect server (as on a long-running cluster)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary batch, archives and logs")
    args = parser.parse_args(argv)
    if args.pages < 1:
        parser.error("--pages must be at least 1")
    if not (BIN / "dask").exists():
        raise SystemExit(
            f"{BIN / 'dask'} not found: install prefect-dask (and distributed) in this environment"
        )

    load_at_start = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="arhiva-bench-cluster-"))
    cluster: Cluster | None = None
    try:
        t0 = time.perf_counter()
        batch, samples = generate(tmp, args.pages, args.seed)
        pages, files = len(samples), len({p.file for p in samples})
        print(f"generated {pages} pages in {files} files in {time.perf_counter() - t0:.1f} s: {batch}")

        env = {
            **os.environ,
            "PREFECT_HOME": str(tmp / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "COLUMNS": "200",
        }
        env.pop("PREFECT_API_URL", None)

        print("creating Prefect's database (untimed ingest of an empty folder) ...", flush=True)
        (tmp / "empty").mkdir()
        run_ingest(tmp / "empty", tmp / "warm-up-archive", env)

        local = measure_mode("local", batch, tmp / "archive-local", pages, env)

        print("starting a Dask scheduler and 2 workers ...", flush=True)
        cluster = Cluster(env, tmp / "dask-logs", workers=2)
        t0 = time.perf_counter()
        cluster.start()
        print(f"cluster {cluster.address} ready in {time.perf_counter() - t0:.1f} s (untimed)", flush=True)
        if args.warm_workers:
            warm_up_workers(tmp, args.seed, env, cluster)
        dask = measure_mode("dask", batch, tmp / "archive-dask", pages, env, cluster)
    finally:
        if cluster:
            cluster.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    import distributed

    excl = (
        round(dask.pages_per_min_excl_overhead / local.pages_per_min_excl_overhead, 3)
        if dask.pages_per_min_excl_overhead and local.pages_per_min_excl_overhead
        else None
    )
    results = Results(
        timestamp=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        pages=pages,
        files=files,
        cpu_count=os.cpu_count() or 1,
        dask_workers=2,
        dask_threads_per_worker=1,
        dask_workers_warmed=args.warm_workers,
        load_1min_at_start=round(load_at_start, 2),
        load_1min_at_end=round(os.getloadavg()[0], 2),
        local=local,
        dask=dask,
        ratio_dask_to_local_wall=round(dask.wall_s / local.wall_s, 3),
        ratio_dask_to_local_pages_per_min_excl_overhead=excl,
        arhiva_version=arhiva.__version__,
        dask_version=distributed.__version__,
        tesseract_version=tesseract_version(),
        python=f"{platform.python_implementation()} {platform.python_version()}",
        git=git_describe(),
    )
    worker_names = {f"worker-{n + 1}" for n in range(results.dask_workers)}
    if _ocred(dask.ocr_cpu_s_by_process) != worker_names:
        print(
            f"warning: Dask mode's OCR did not run on exactly the {len(worker_names)} workers "
            f"(OCR CPU s by process): {dask.ocr_cpu_s_by_process}"
        )
    if _ocred(local.ocr_cpu_s_by_process) != {"flow process"}:
        print(
            f"warning: local mode's OCR did not run in the flow process alone "
            f"(OCR CPU s by process): {local.ocr_cpu_s_by_process}"
        )

    print()
    print(_table(results))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RESULTS_DIR / f"cluster-{stamp}.json"
    out.write_text(json.dumps(asdict(results), indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
