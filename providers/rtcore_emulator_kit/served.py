"""What every emulator's server checks before it listens, its ``async with`` lifecycle and the
pacing a test may change while it runs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Protocol, Self

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def check_listening(host: str, realtime_factor: float) -> None:
    """Refuse a host off loopback (an emulator is a test double, never a service) and a
    negative pacing."""
    if host not in LOOPBACK:
        raise ValueError("the emulator only listens on loopback (127.0.0.1, ::1, localhost)")
    if realtime_factor < 0:
        raise ValueError("realtime_factor must be >= 0")


class Paced(Protocol):
    realtime_factor: float


class Served(ABC):
    """An emulator run as ``async with Emulator(...) as emu:``, or by ``start`` and ``close``;
    ``paced``: the settings its connections read their pacing from, as they pace. ``port`` is
    the one it listens on, 0 while it does not."""

    def __init__(self, paced: Paced) -> None:
        self._paced = paced
        self.port = 0

    def listening_port(self) -> int:
        """``port``, for a URL that means nothing while the emulator is not running."""
        if not self.port:
            raise RuntimeError("the emulator is not running")
        return self.port

    @property
    def realtime_factor(self) -> float:
        return self._paced.realtime_factor

    @realtime_factor.setter
    def realtime_factor(self, value: float) -> None:
        self._paced.realtime_factor = value

    @abstractmethod
    async def start(self) -> Self: ...

    @abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
