from __future__ import annotations

import asyncio

import pytest

from rtcore_bedrock_sonic.stream import install_loop_exception_filter


@pytest.fixture(autouse=True)
async def _crt_loop_handler() -> None:
    # awscrt's "Task exception was never retrieved" after a server-ended stream (an SDK
    # trap): silenced by the provider's own filter, as in rtcore serve.
    install_loop_exception_filter(asyncio.get_running_loop())
