"""The key store ``rtcore serve`` opens when a master key is set: rtcore's own (SQLite in
the data directory, one file per port, a private one for a server on an ephemeral port,
or the configured database), or LiteLLM's keys when the configured database is a LiteLLM
proxy's."""

from __future__ import annotations

import logging
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from rtcore.serve_settings import ServeError, ServeSettings

if TYPE_CHECKING:
    from rtcore.keys.store import KeyStore

log = logging.getLogger(__name__)


def private_store_dir(stack: AsyncExitStack, settings: ServeSettings) -> Path | None:
    """A server on an ephemeral port (``--port 0``) keeps its keys in a temporary
    directory of its own, removed when ``stack`` closes: a port-named file would be
    ``rtcore-0.db``, shared by every such server on the machine, and found again by none
    once its port is gone. Entered before the gateway, so it outlives the store."""
    if settings.master_key is None or settings.database_url or settings.port != 0:
        return None
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rtcore-keys-")))


async def open_key_store(settings: ServeSettings, private: Path | None = None) -> KeyStore | None:
    """With a master key, virtual keys and spend logs live in a database: SQLite in the
    data directory, one file per port (or in ``private``, see ``private_store_dir``),
    unless a database URL is given. Without one there is nobody to mint keys, and
    nothing is stored."""
    if settings.master_key is None:
        return None
    from rtcore.keys.errors import StoreUnavailable
    from rtcore.keys.litellm_db import LiteLLMKeyStore
    from rtcore.keys.litellm_tables import RTCORE_SCHEMA, litellm_schema
    from rtcore.keys.locations import default_url
    from rtcore.keys.store import KeyStore

    if private is not None:
        url = f"sqlite+aiosqlite:///{private / 'keys.db'}"
        log.info(
            "serving on an ephemeral port: keys made here last until this server stops "
            "(give --database-url to keep them)"
        )
    else:
        url = settings.database_url or default_url(settings.port)
    if not settings.database_url and private is None:
        _mention_the_shared_store(url, default_url())
    spool = Path(settings.spool_dir) if settings.spool_dir else None
    try:
        litellm = await litellm_schema(url) if settings.database_url else None
        if litellm is not None:
            store: KeyStore = await LiteLLMKeyStore.open_on(
                url, litellm, master_key=settings.master_key, spool_dir=spool
            )
            log.info(
                "LiteLLM's database (its tables in schema %r): its virtual keys admit "
                "sessions, which are written to its spend log; rtcore's own tables are in "
                "schema %r (records wait in %s while it is down)",
                litellm,
                RTCORE_SCHEMA,
                store.spool_directory,
            )
            return store
        store = await KeyStore.open(url, spool_dir=spool)
    except StoreUnavailable as exc:
        raise ServeError(f"cannot use the key database: {exc.reason}") from None
    except Exception as exc:
        raise ServeError(f"cannot open the key database: {type(exc).__name__}: {exc}") from None
    where = "the configured database" if settings.database_url else url.split("///", 1)[-1]
    log.info(
        "virtual keys and spend logs in %s (records wait in %s while it is down)",
        where,
        store.spool_directory,
    )
    return store


def _mention_the_shared_store(url: str, shared_url: str) -> None:
    """Earlier, every server of a machine kept its keys in one ``rtcore.db``: a server that
    starts a store of its own next to one says where its keys went."""
    own, shared = (Path(u.split("///", 1)[-1]) for u in (url, shared_url))
    if shared.exists() and not own.exists():
        log.warning(
            "%s holds the keys of an earlier rtcore, which kept one store for every server; "
            "this server (port-named) keeps its own, %s: to go on with those keys, move the "
            "file there or serve with --database-url sqlite:///%s",
            shared,
            own.name,
            shared,
        )
