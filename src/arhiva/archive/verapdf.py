"""veraPDF, the reference PDF/A validator: where `scripts/verapdf --fetch` put it, and its
verdict on files. `arhiva verify` and `arhiva doctor` both find it here."""

from __future__ import annotations

import os
from pathlib import Path

from arhiva import proc

REPO_SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"
JAVA_INSTALL = "apt-get install default-jre-headless"


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
    Raises MissingDependencyError without Java, ToolError when it runs out of time."""
    if not pdfs:
        return {}
    cmd = [
        "java",
        "-cp",
        f"{jars}/*",
        "org.verapdf.apps.GreenfieldCliWrapper",
        "--flavour",
        "2b",
        "--format",
        "text",
        *map(str, pdfs),
    ]
    out = proc.run(cmd, what="veraPDF", timeout=600 + 30 * len(pdfs), install=JAVA_INSTALL)
    verdicts: dict[Path, bool] = {}
    for line in out.stdout.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) >= 2 and parts[0] in ("PASS", "FAIL"):
            verdicts[Path(parts[1])] = parts[0] == "PASS"
    return {p: verdicts.get(p, False) for p in pdfs}
