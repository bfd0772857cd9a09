"""rtcore: an open realtime voice gateway speaking the OpenAI Realtime API."""

from rtcore.hookspecs import hookimpl

__all__ = ["hookimpl"]
