"""The hot folder: batches are taken only when complete, each exactly once, across restarts."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from arhiva.archive.package import iter_document_ids, load_document
from arhiva.ingest.watch import Inbox, is_done, mark_done
from arhiva.samples.batch import BatchOptions, write_batch


def ignore_ctrl_c() -> None:
    """Start a child as a script's background job is started: with SIGINT ignored, which Python
    would keep unless arhiva takes Ctrl-C back (CI runs the tests that way)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_is_ready_once_its_files_settle(tmp_path: Path) -> None:
    inbox, archive, clock = tmp_path / "inbox", tmp_path / "archive", Clock()
    (inbox / "lot-1").mkdir(parents=True)
    (inbox / "lot-1" / "p1.png").write_bytes(b"x" * 10)
    tracker = Inbox(inbox, archive, settle=30, clock=clock)
    assert tracker.ready() == []  # first sight
    clock.now += 20
    assert tracker.ready() == []
    (inbox / "lot-1" / "p2.png").write_bytes(b"y")  # still being written: the wait starts again
    clock.now += 20
    assert tracker.ready() == []
    clock.now += 29
    assert tracker.ready() == []
    clock.now += 2
    assert tracker.ready() == [inbox / "lot-1"]
    mark_done(archive, "lot-1", 2, {})
    assert tracker.ready() == [] and is_done(archive, "lot-1")


def test_ready_marker_partial_files_and_empty_folders(tmp_path: Path) -> None:
    inbox, archive, clock = tmp_path / "inbox", tmp_path / "archive", Clock()
    for name in ("a", "b", "c"):
        (inbox / name).mkdir(parents=True)
    (inbox / "a" / "p1.png").write_bytes(b"x")
    (inbox / "a" / "READY").touch()  # the scanning station says it is complete
    (inbox / "b" / "p1.png.part").write_bytes(b"x")  # a copy in progress never settles
    tracker = Inbox(inbox, archive, settle=5, clock=clock)
    assert tracker.ready() == [inbox / "a"]
    clock.now += 100
    tracker.ready()
    clock.now += 100
    assert tracker.ready() == [inbox / "a"]  # c is empty, b is partial


def test_watch_ingests_each_batch_once_only_when_complete(tmp_path: Path) -> None:
    """Two batches dropped while `arhiva watch` runs, one written slowly, file by file."""
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    inbox.mkdir()
    staged = tmp_path / "staged"
    write_batch(staged / "lot-rapid", BatchOptions(documents=1, max_pages=1, size="a6", seed=3))
    write_batch(staged / "lot-lent", BatchOptions(documents=2, max_pages=2, size="a6", seed=4, rotate=False))
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "ARHIVA_WORKERS": "2"}
    env.pop("PREFECT_API_URL", None)
    cmd = [
        sys.executable,
        "-m",
        "arhiva",
        "watch",
        str(inbox),
        "--archive",
        str(archive),
        "--settle",
        "3",
        "--poll",
        "0.5",
    ]
    log = (tmp_path / "watch.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=ignore_ctrl_c)
    try:
        (staged / "lot-rapid").rename(inbox / "lot-rapid")  # appears at once
        slow = inbox / "lot-lent"
        slow.mkdir()
        files = sorted(p for p in (staged / "lot-lent").rglob("*") if p.is_file())
        for f in files:  # one file a second: never still for 3 s until the last
            dest = slow / f.relative_to(staged / "lot-lent")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(f.read_bytes())
            time.sleep(1.0)
        last_write = time.time()
        deadline = time.monotonic() + 240
        while not (is_done(archive, "lot-rapid") and is_done(archive, "lot-lent")):
            assert proc.poll() is None, (tmp_path / "watch.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "watch.log").read_text()
            time.sleep(0.5)
        time.sleep(3)  # give a wrong second ingest the chance to happen
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            log.close()
    output = (tmp_path / "watch.log").read_text()
    assert code == 130 and "interrupted (Ctrl-C)" in output, output
    assert output.count("Ingesting lot-rapid") == 1 and output.count("Ingesting lot-lent") == 1, output
    ledger = json.loads((archive / "watch" / "lot-lent.json").read_text())
    assert ledger["files"] == len(files)  # the whole batch was there when it was taken
    assert ledger["exit_code"] == 0
    assert dt.datetime.fromisoformat(ledger["ingested_at"]).timestamp() > last_write
    batches = {load_document(archive, d).batch for d in iter_document_ids(archive)}
    assert batches == {"lot-rapid", "lot-lent"}

    # A restarted watcher does nothing more.
    again = subprocess.run([*cmd, "--once"], capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0 and "Ingesting" not in again.stdout


def test_sigterm_stops_the_watcher_and_its_prefect_server(tmp_path: Path) -> None:
    """`kill` (or a service manager) stops the watcher cleanly, taking Prefect's temporary
    server with it instead of leaving it running."""
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    write_batch(inbox / "lot-1", BatchOptions(documents=1, max_pages=1, size="a6", seed=5))
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "ARHIVA_WORKERS": "1"}
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-m", "arhiva", "watch", str(inbox), "--archive", str(archive), "--settle", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 180
        while not is_done(archive, "lot-1"):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.5)
        children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        assert children, "Prefect's temporary server should be running as the watcher's child"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143 and "stopped by SIGTERM" in out, out
    for pid in children:  # gone, or at most a zombie of a parent that has exited
        state = Path(f"/proc/{pid}/stat")
        assert not state.exists() or state.read_text().split(") ")[1][0] == "Z", pid
