"""The command-line options several `arhiva` commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ArchiveOpt = Annotated[
    Path,
    typer.Option("--archive", "-a", help="Archive folder (created if missing).", envvar="ARHIVA_ARCHIVE"),
]


CollectionOpt = Annotated[
    str | None, typer.Option("--collection", "-c", help="Collection the batch belongs to, e.g. urbanism.")
]
AccessOpt = Annotated[
    str | None,
    typer.Option(
        help="Access level for documents whose manifest gives none: public, internal or restricted."
    ),
]
LanguagesOpt = Annotated[
    str | None,
    typer.Option(
        "--languages", "-l", help="Tesseract languages, joined with '+' (e.g. ron+eng) [default: ron]."
    ),
]
WorkersOpt = Annotated[int | None, typer.Option(min=1, help="Pages processed at once [default: CPU count].")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's log lines.")]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        help="Run the page work on this Dask cluster (scheduler address, e.g. tcp://10.0.0.5:8786) "
        "instead of local threads. Workers need the same arhiva and the same paths to SOURCE and ARCHIVE.",
        envvar="ARHIVA_CLUSTER",
    ),
]
IndexOpt = Annotated[
    str | None,
    typer.Option(
        "--index",
        help="Search index: 'sqlite' (ARCHIVE/index.sqlite, the default) or an Elasticsearch URL "
        "such as http://127.0.0.1:9200 (optionally /ALIAS at the end).",
        envvar="ARHIVA_INDEX",
    ),
]
DuplexOpt = Annotated[
    bool,
    typer.Option(
        "--duplex",
        help="Each stack was scanned in two passes, all fronts then all backs in reverse order: "
        "collate it into page order (before it is split at separator sheets).",
    ),
]
BlankPagesOpt = Annotated[
    str | None,
    typer.Option(
        help="'keep': blank pages are kept in their document, flagged and not indexed; 'separate': "
        "a blank page also ends its document (stacks separated by blank sheets) [default: keep].",
    ),
]
