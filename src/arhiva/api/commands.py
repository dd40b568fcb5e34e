"""`arhiva api` and `arhiva keys`: the portal service's commands (mounted by arhiva.cli, whose
one error handler turns what they raise into exit codes)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from arhiva.errors import UsageError
from arhiva.options import ArchiveOpt, IndexOpt
from arhiva.terminal import console, err_console, print_keys


def api(
    archive: ArchiveOpt,
    index: IndexOpt = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on. Keep 127.0.0.1 behind a reverse proxy.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    query_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a search may take before it is answered with 504.")
    ] = 10.0,
    rate: Annotated[float, typer.Option(min=0.01, help="Requests per second each key may make.")] = 20.0,
    burst: Annotated[int, typer.Option(min=1, help="Requests a key may make at once after a pause.")] = 60,
) -> None:
    """Serve the portal search API (JSON, OpenAPI at /docs and /openapi.json) and the operator
    search page (/ui) over this archive and its index.

    Every route but /health needs an API key (`arhiva keys create`). Access logs go to stderr
    as JSON lines, without keys. Behind a reverse proxy, name it in ARHIVA_API_TRUSTED_PROXIES
    so that its X-Forwarded-For is believed (by default none is).
    """
    import logging

    import uvicorn
    from pydantic import ValidationError

    from arhiva.api.app import create_app, server_config
    from arhiva.api.limits import ApiLimits
    from arhiva.config import Settings
    from arhiva.indexing.open import open_index

    try:
        settings = Settings()
    except ValidationError as exc:
        raise UsageError(str(exc)) from exc
    limits = ApiLimits(
        query_timeout_s=query_timeout,
        rate_per_s=rate,
        burst=burst,
        body_timeout_s=settings.api_body_timeout,
    )
    idx = open_index(archive, index, must_exist=True)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("arhiva.api.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False
    app_ = create_app(archive, index, limits=limits, index=idx)
    proxies = settings.api_trusted_proxies
    err_console.print(
        f"arhiva API on http://{host}:{port} ({idx.backend} index); operator page /ui, OpenAPI /docs; "
        + (f"forwarded addresses believed from {', '.join(proxies)}" if proxies else "no proxy trusted"),
        soft_wrap=True,
    )
    server = uvicorn.Server(server_config(app_, host, port, proxies))
    try:
        server.run()
    finally:
        idx.close()
    if not server.started:  # uvicorn has logged why (e.g. the port is taken)
        raise UsageError(f"the API could not start on {host}:{port}")


keys_app = typer.Typer(
    help="Manage the API keys of `arhiva api` (stored hashed in ARCHIVE/keys.json).", no_args_is_help=True
)


@keys_app.command("create")
def keys_create(
    archive: ArchiveOpt,
    level: Annotated[
        str, typer.Option(help="What the key may see: public, internal or restricted (and the levels below).")
    ],
    name: Annotated[str, typer.Option(help="Who or what the key is for, e.g. portal-svu.")] = "",
) -> None:
    """Create an API key. The key is printed once, as the last line: store it now."""
    from arhiva.keys import KeyStore
    from arhiva.schemas.models import AccessLevel

    try:
        access = AccessLevel(level)
    except ValueError as exc:
        raise UsageError(f"unknown level {level!r}: use public, internal or restricted") from exc
    if len(name) > 200:
        raise UsageError("the name is longer than 200 characters")
    record, key = KeyStore(archive).create(access, name)
    err_console.print(f"Created key {record.key_id} ({record.level.value}). It is shown only once:")
    print(key)


@keys_app.command("list")
def keys_list(archive: ArchiveOpt) -> None:
    """List the API keys: id, name, level, when created and revoked (never the keys)."""
    from arhiva.keys import KeyStore

    print_keys(KeyStore(archive).list())


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (the 12 characters after arh_).")],
    archive: ArchiveOpt,
) -> None:
    """Revoke an API key. A running API refuses it from its next request on."""
    from arhiva.keys import KeyStore

    record = KeyStore(archive).revoke(key_id.strip())
    console.print(f"Revoked key {record.key_id} ({record.level.value}).")
