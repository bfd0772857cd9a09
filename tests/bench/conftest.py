from __future__ import annotations

import asyncio
from typing import Any

import pytest


def _quiet_crt(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # awscrt's "Task exception was never retrieved" after a server-ended stream (an SDK trap).
    exc = context.get("exception")
    if isinstance(exc, RuntimeError) and "AWS_ERROR_HTTP_STREAM" in str(exc):
        return
    loop.default_exception_handler(context)


@pytest.fixture(autouse=True)
async def _crt_loop_handler() -> None:
    asyncio.get_running_loop().set_exception_handler(_quiet_crt)
