"""The parts of an emulator's rtcore registration that need nothing of rtcore: saying how to
install the ``rtcore[emulator]`` extra when it is missing, and warning, for as long as an
emulator stands in for a vendor, that the replies are emulated."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager


def require_extra(emulator: str, *modules: str) -> None:
    """Exit saying what to install when one of ``modules`` (the extra's) cannot be imported:
    a command that names the fix, not a traceback."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise SystemExit(
                f"rtcore: the {emulator} emulator needs its extra dependencies: "
                f"pip install 'rtcore[emulator]' ({exc.name} is missing)"
            ) from None


@asynccontextmanager
async def standing_in(
    log: logging.Logger,
    models: Sequence[str],
    emulator: str,
    url: str,
    *,
    instead_of: str,
    account: str,
) -> AsyncIterator[None]:
    """Warn that ``models`` answer from ``emulator`` at ``url``, not from ``instead_of``, and
    say when it stops. ``account``: the account no call uses ("AWS account")."""
    many = len(models) > 1
    # A warning, not info: replies that sound real must never pass for the vendor's.
    log.warning(
        "EMULATED REPLIES: model%s %s answer%s from the local %s emulator at %s, not from %s "
        "(a synthetic voice saying scripted text; no %s used). Run without --emulator to talk "
        "to the real service.",
        "s" if many else "",
        ", ".join(models),
        "" if many else "s",
        emulator,
        url,
        instead_of,
        account,
    )
    try:
        yield
    finally:
        log.info("stopping the %s emulator", emulator)
