"""veraPDF, the reference PDF/A validator: where `scripts/verapdf --fetch` put it, and its
verdict on files. `arhiva verify` and `arhiva doctor` both find it here."""

from __future__ import annotations

import os
from pathlib import Path

from arhiva import proc

REPO_SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"
JAVA_INSTALL = "apt-get install default-jre-headless"
FLAVOUR = "2b"  # PDF/A-2b


def fetch_hint() -> str:
    return f"{REPO_SCRIPTS / 'verapdf'} --fetch"


def verapdf_jars() -> Path | None:
    """veraPDF's jars: ARHIVA_VERAPDF_DIR if set, else the newest complete fetch in the cache
    (ARHIVA_CACHE, by default ~/.cache/arhiva, as scripts/verapdf uses it); None if absent."""
    if explicit := os.environ.get("ARHIVA_VERAPDF_DIR"):
        return Path(explicit)
    xdg = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    cache = Path(os.environ.get("ARHIVA_CACHE", xdg / "arhiva"))
    found = sorted(cache.glob("verapdf-*/.complete"))
    return found[-1].parent if found else None


def validate_pdfa(pdfs: list[Path], jars: Path) -> dict[Path, bool]:
    """veraPDF's verdict (PDF/A-2b) for each file; a file it gave no verdict on fails.
    Raises MissingDependencyError without Java, ToolError when it runs out of time.

    veraPDF names each file by its absolute path in its report, whatever path it was given: the
    files are given as absolute paths (symbolic links resolved) and each verdict is matched to
    its file by that path, so a relative or linked archive folder gets the same verdicts."""
    if not pdfs:
        return {}
    given = {p: p.resolve() for p in pdfs}
    cmd = [
        "java",
        "-cp",
        f"{jars}/*",
        "org.verapdf.apps.GreenfieldCliWrapper",
        "--flavour",
        FLAVOUR,
        "--format",
        "text",
        *map(str, given.values()),
    ]
    out = proc.run(cmd, what="veraPDF", timeout=600 + 30 * len(pdfs), install=JAVA_INSTALL)
    verdicts: dict[str, bool] = {}
    for line in out.stdout.splitlines():
        status, _, rest = line.partition(" ")  # "PASS /abs/path/document.pdf 2b"
        if status in ("PASS", "FAIL"):
            verdicts[rest.removesuffix(f" {FLAVOUR}")] = status == "PASS"
    return {p: verdicts.get(str(absolute), False) for p, absolute in given.items()}
