"""Supervisors' view: an ingest against a real Prefect server (started by scripts/prefect-server),
read back through the Prefect client: run name, tags, task runs per document, artifacts, logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from arhiva.samples.batch import BatchOptions, write_batch

from .conftest import REPO, free_port

BATCH = "2026-11-22-registratura"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        **os.environ,
        "ARHIVA_PREFECT_PORT": str(free_port()),
        "PREFECT_HOME": str(tmp_path_factory.mktemp("prefect-home")),
        "PREFECT_BIN": str(Path(sys.executable).parent / "prefect"),
    }
    env.pop("PREFECT_API_URL", None)
    script = REPO / "scripts" / "prefect-server"
    started = subprocess.run([str(script), "start"], capture_output=True, text=True, env=env, timeout=300)
    assert started.returncode == 0, started.stderr
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(script), "stop"], capture_output=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def ingested(server: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("server-e2e")
    src = root / BATCH
    write_batch(src, BatchOptions(documents=2, max_pages=2, size="a6", seed=61, rotate=False))
    (src / "stricat.tif").write_bytes(b"II*\x00" + b"\x00" * 40)
    env = {**os.environ, "PREFECT_API_URL": server, "ARHIVA_QA_MIN_CONFIDENCE": "99.5"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "arhiva",
            "ingest",
            str(src),
            "--archive",
            str(root / "arhiva"),
            "-c",
            "registratura",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 3, out.stdout + out.stderr  # the broken TIFF is quarantined

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterName,
        LogFilter,
        LogFilterFlowRunId,
        TaskRunFilter,
        TaskRunFilterFlowRunId,
    )
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: server}), get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[BATCH])))
        tasks = client.read_task_runs(
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[run.id]))
        )
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_=BATCH)))
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
    return {"run": run, "tasks": tasks, "artifacts": artifacts, "logs": logs, "output": out.stdout}


def test_one_flow_run_named_after_the_batch_and_tagged(ingested: dict) -> None:
    run = ingested["run"]
    assert run.name == BATCH
    assert set(run.tags) == {"arhiva", "collection:registratura"}
    assert run.state is not None and run.state.is_completed()


def test_task_runs_are_named_per_document_and_stage(ingested: dict) -> None:
    names = {t.name for t in ingested["tasks"]}
    for doc in ("document-001", "document-002"):  # the second is named by its manifest title too
        for stage in ("pdfa", "index"):
            assert any(n.startswith(f"{stage} {doc}") for n in names), (stage, doc, names)
        assert any(n.startswith(f"page {doc}") and n.endswith(" p1") for n in names), doc
    assert "discover " + BATCH in names and "quarantine stricat.tif" in names
    assert all(t.state is not None and t.state.is_completed() for t in ingested["tasks"])


def test_artifacts_list_documents_quarantine_qa_and_progress(ingested: dict) -> None:
    arts = {a.key: a for a in ingested["artifacts"]}
    docs = json.loads(arts[f"{BATCH}-documents"].data)
    assert len(docs) == 2 and "document-001" in {d["title"] for d in docs}
    assert all(d["PDF/A"].endswith("document.pdf") and d["mean confidence"] > 50 for d in docs)
    (q,) = json.loads(arts[f"{BATCH}-quarantine"].data)
    assert q["file"] == "stricat.tif" and q["reason"] == "corrupt_image"
    qa = json.loads(arts[f"{BATCH}-qa"].data)  # threshold 99.5: every page is a QA candidate
    pages = sum(d["pages"] for d in docs)
    assert len(qa) == pages and all(float(p["confidence"]) < 99.5 for p in qa)
    assert float(arts[f"{BATCH}-progress"].data) == 100.0


def test_logs_say_what_happened_to_each_file(ingested: dict) -> None:
    text = "\n".join(log.message for log in ingested["logs"])
    assert "quarantine stricat.tif" in text
    assert "document-001 archived as" in text and "document-002 [" in text
    assert "deskewed" in text and "mean confidence" in text
