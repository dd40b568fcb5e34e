"""The archive the API tests share: a real ingest of generated one-page scans, built once per
session (OCR is the slow part), with API keys of every level."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from arhiva.api.sessions import SESSION_COOKIE
from arhiva.config import Settings
from arhiva.keys import KeyStore
from arhiva.samples.render import PageStyle, layout, render_page
from arhiva.schemas.models import AccessLevel

# Words chosen to survive OCR unchanged; each marked set occurs in one document only.
DOCUMENTS = {
    "autorizatie": {
        "title": "Autorizație de construire nr. 12/2024",
        "document_type": "autorizație de construire",
        "issue_date": "2024-03-14",
        "access_level": "public",
        "text": [
            "Autorizație de construire nr. 12 din 14 martie 2024.",
            "Se emite autorizația de construire pentru imobilul din Șoseaua Olteniței nr. 45, "
            "sectorul 4, pentru lucrări de consolidare a fațadei.",
        ],
    },
    "hotarare": {
        "title": "Hotărâre privind reabilitarea școlii nr. 3/2019",
        "document_type": "hotărâre",
        "issue_date": "2019-01-10",
        "access_level": "internal",
        "text": [
            "Hotărârea Consiliului Local nr. 3 din 10 ianuarie 2019.",
            "Se aprobă reabilitarea termică a clădirii școlii gimnaziale din strada Luptătorilor.",
        ],
    },
    "ancheta": {
        "title": "Anchetă socială nr. 7/2012",
        "document_type": "anchetă socială",
        "issue_date": "2012-05-02",
        "access_level": "restricted",
        "text": [
            "Anchetă socială nr. 7 din 2 mai 2012.",
            "Familia Zăvoianu, domiciliată în strada Fântânica nr. 9, primește ajutor de urgență "
            "pentru plata chiriei. Venitul lunar declarat este de 850 lei.",
        ],
    },
}
# A fourth document with no access level anywhere: the ingest must make it restricted.
UNMARKED_TEXT = [
    "Cerere de eliberare a unui certificat de atestare fiscală.",
    "Subsemnatul Popovici Marin solicit certificatul pentru dosarul de pensionare.",
]
RESTRICTED_ONLY_WORDS = ("Zavoianu", "Fantanica", "Popovici")


@dataclass(frozen=True)
class ApiArchive:
    archive: Path
    keys: dict[str, str]  # level -> key
    ids: dict[str, str]  # document name (DOCUMENTS key, or 'unmarked') -> document id


_built: dict[str, ApiArchive] = {}


def _page(text: list[str], path: Path, seed: int) -> None:
    style = PageStyle(size="a5", seed=seed)
    lines = layout(text, style)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    render_page(lines, style).save(path, dpi=(300, 300))


def api_archive(tmp_path_factory: pytest.TempPathFactory) -> ApiArchive:
    """Build (once per session) and return the shared archive. Needs the `prefect_api` fixture."""
    if "archive" in _built:
        return _built["archive"]
    from arhiva.archive.package import iter_document_ids, load_document
    from arhiva.flows.ingest import run_ingest

    root = tmp_path_factory.mktemp("api")
    src = root / "lot-api"
    manifest = []
    for n, (name, doc) in enumerate(DOCUMENTS.items()):
        _page(doc["text"], src / "dosare" / f"{name}.png", seed=n)
        entry = {k: v for k, v in doc.items() if k != "text"}
        manifest.append({"files": [f"{name}.png"], **entry})
    (src / "dosare" / "manifest.json").write_text(
        json.dumps({"documents": manifest}, ensure_ascii=False), encoding="utf-8"
    )
    _page(UNMARKED_TEXT, src / "cereri" / "cerere.png", seed=9)
    archive = root / "arhiva"
    report = run_ingest(src, archive, collection="urbanism", settings=Settings(workers=2))
    assert report.complete and not report.index_errors, report
    ids: dict[str, str] = {}
    for doc_id in iter_document_ids(archive):
        doc = load_document(archive, doc_id)
        name = doc.name.rsplit("/", 1)[-1].removesuffix(".png")
        ids[name if name in DOCUMENTS else "unmarked"] = doc_id
    assert set(ids) == {*DOCUMENTS, "unmarked"}, ids
    store = KeyStore(archive)
    keys = {level.value: store.create(level, f"test-{level.value}")[1] for level in AccessLevel}
    _built["archive"] = ApiArchive(archive, keys, ids)
    return _built["archive"]


def small_archive(shared: ApiArchive, archive: Path, *names: str) -> Path:
    """A new archive at `archive` of some of the shared documents (by DOCUMENTS name; the public
    one when none is named), indexed (SQLite), with no keys yet."""
    import shutil

    from arhiva.archive.package import package_dir
    from arhiva.indexing.base import archive_records
    from arhiva.indexing.open import open_index

    for name in names or ("autorizatie",):
        doc_id = shared.ids[name]
        shutil.copytree(package_dir(shared.archive, doc_id), package_dir(archive, doc_id))
    index = open_index(archive, "sqlite")
    index.rebuild(archive_records(archive))
    index.close()
    return archive


SAME_SITE = {"Origin": "http://testserver"}  # what a browser sends with the page's own forms


def login(client: TestClient, key: str) -> str:
    """Log in on the operator page as a browser would; returns the session cookie's value."""
    r = client.post("/ui/login", data={"key": key}, headers=SAME_SITE, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(client.cookies[SESSION_COOKIE])


def until(what: str, check: Callable[[], Any], limit_s: float = 30) -> Any:
    """Poll `check` until it returns something true; fail after `limit_s` (a bound, not a measure)."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if value := check():
            return value
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


@contextmanager
def api_process(
    archive: Path, port: int, log: Path, *args: str, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """`arhiva api` over `archive` as its own process on 127.0.0.1:`port` (its access log, on
    stderr, in `log`), once it answers; yields its URL, and stops it afterwards."""
    command = [sys.executable, "-m", "arhiva", "api", "--archive", str(archive), "--port", str(port), *args]
    with log.open("w") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"arhiva api exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        until("arhiva api to answer", up, 60)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
