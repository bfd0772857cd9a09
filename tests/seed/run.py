"""Run one of the seed's programs against the port rtcore serves on.

The programs (``text_chat.py``, ``audio_chat.py``, ``tools_chat.py``) are kept byte for
byte as the seed document shows them, and they dial ``ws://localhost:4000``. This runs a
program as it is, its URL's port taken from the variables ``rtcore serve`` reads
(``RTCORE_PORT``, else ``PORT``; with neither, 4000 and the program is unchanged)::

    make serve PORT=4100
    PORT=4100 .venv/bin/python tests/seed/run.py tests/seed/text_chat.py

A copy of a program outside the repository dials the port written in its ``LITELLM_URL``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SEED_URL = "ws://localhost:4000/"
PORT_VARIABLES = ("RTCORE_PORT", "PORT")


def port_from_environment() -> str:
    for name in PORT_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            if not value.isdigit():
                raise SystemExit(f"run.py: {name}={value!r} is not a port number")
            return value
    return "4000"


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: run.py PROGRAM [ARGS...]  (RTCORE_PORT / PORT: the port)")
    path = Path(argv[1])
    source = path.read_text(encoding="utf-8")
    if source.count(SEED_URL) != 1:
        raise SystemExit(f"run.py: {path} does not dial {SEED_URL} once, as the seed's do")
    source = source.replace(SEED_URL, f"ws://localhost:{port_from_environment()}/")
    # As `python PROGRAM` runs it: its own name, arguments and folder on the path; the
    # line numbers of its tracebacks are the file's (only the port changed).
    sys.argv = [str(path), *argv[2:]]
    sys.path[0] = str(path.resolve().parent)
    code = compile(source, str(path), "exec")
    exec(code, {"__name__": "__main__", "__file__": str(path), "__builtins__": __builtins__})


if __name__ == "__main__":
    main(sys.argv)
