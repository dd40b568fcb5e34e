"""Screenshots of the Prefect UI showing a finished arhiva batch run and its artifacts.

    .venv/bin/python scripts/prefect_ui_screenshot.py [OUTDIR]      (default: docs/)

Starts a Prefect server (scripts/prefect-server, SQLite in a temporary PREFECT_HOME), ingests a
generated batch with one broken file against it, then lets headless Chromium (Debian package
`chromium`) load the flow run's page and the batch's documents and quarantine artifacts,
writing prefect-ui-run.png, prefect-ui-documents.png and prefect-ui-quarantine.png. Everything
runs on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BATCH = "2026-11-22-urbanism"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _screenshot(url: str, out: Path, profile: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is needed: apt-get install chromium")
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--window-size=1600,1100",
            "--hide-scrollbars",
            "--virtual-time-budget=30000",
            f"--screenshot={out}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )


def main() -> None:
    outdir = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs"
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="arhiva-ui-"))
    port = _free_port()
    env = {
        **os.environ,
        "ARHIVA_PREFECT_PORT": str(port),
        "PREFECT_HOME": str(tmp / "prefect"),
        "PREFECT_BIN": str(Path(sys.executable).parent / "prefect"),
    }
    env.pop("PREFECT_API_URL", None)
    script = REPO / "scripts" / "prefect-server"
    api = subprocess.run([str(script), "start"], capture_output=True, text=True, env=env, check=True)
    api_url = api.stdout.strip().splitlines()[-1]
    try:
        from arhiva.samples.batch import BatchOptions, write_batch

        src = tmp / BATCH
        write_batch(src, BatchOptions(documents=3, max_pages=2, size="a5", seed=8))
        (src / "scanare-stricata.tif").write_bytes(b"II*\x00" + b"\x00" * 64)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "arhiva",
                "ingest",
                str(src),
                "--archive",
                str(tmp / "arhiva"),
                "-c",
                "urbanism",
            ],
            env={**env, "PREFECT_API_URL": api_url},
            check=False,
        )
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
            (run,) = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[BATCH]))
            )
            artifacts = {a.key: a.id for a in client.read_artifacts() if a.key}
        ui = f"http://127.0.0.1:{port}"
        shots = {
            "prefect-ui-run.png": f"{ui}/runs/flow-run/{run.id}",
            "prefect-ui-documents.png": f"{ui}/artifacts/artifact/{artifacts[f'{BATCH}-documents']}",
            "prefect-ui-quarantine.png": f"{ui}/artifacts/artifact/{artifacts[f'{BATCH}-quarantine']}",
        }
        for name, url in shots.items():
            _screenshot(url, outdir / name, tmp / "chromium")
            print(f"wrote {outdir / name}")
    finally:
        subprocess.run([str(script), "stop"], capture_output=True, env=env, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
