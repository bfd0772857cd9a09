"""Logging to stderr, with secrets masked, as text or as JSON lines.

Every record goes through one handler on the root logger whose formatter replaces each known
secret (the master key, secret-looking provider params) in the *formatted* text, tracebacks
included, and shortens every key it sees in a URL's query or by its shape (virtual keys,
client secrets) to ``sk-...abcd``. Masking the final text rather than the record's
arguments also catches secrets that third-party libraries put into their own messages.

A line logged while a session's work runs names the session (its id, model and key alias,
from ``rtcore.telemetry.context``): ``[sess_... model=NAME]`` in text, fields in JSON
(``rtcore serve --log-format json``, one object per line for a log pipeline).
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Literal, TextIO

from rtcore.telemetry.context import current

type LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

MASK = "[REDACTED]"
# Param names whose values are treated as secrets (aws_secret_access_key, api_key, ...).
SECRET_PARAM = re.compile(r"key|secret|token|password|credential", re.IGNORECASE)
# Shorter values would mask ordinary words and numbers all over the log.
MIN_SECRET_LENGTH = 4
# Keys no one registered, wherever they appear: a URL's query under a name that ends like a
# secret's (``/key/info?key=sk-...``, ``?api_key=``; not ``key_alias``), and anything
# shaped like a virtual key or a client secret. They keep their kind and last four
# characters, as LiteLLM shows keys (``sk-...abcd``), so that a line can still be matched
# to its key.
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&;][^=&;\s\"'?#]*(?:key|secret|token|password|credentials?)=)"
    r"(?P<value>[^&;\s\"'#]+)",
    re.IGNORECASE,
)
_KEY_SHAPED = re.compile(r"(?<![\w-])(?:sk-|ek_)[A-Za-z0-9_%-]{8,}")
# Fewer characters than this after the prefix, and the last four would give too much away.
_SHOWN_FROM = 16
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# ``rtcore serve --workers N``: every worker writes to the one stderr, tagged with its pid.
WORKER_LOG_FORMAT = "%(asctime)s %(levelname)s [worker %(process)d] %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """A formatter that masks registered secrets in everything it formats."""

    def __init__(self, fmt: str = LOG_FORMAT, style: LogFormat = "text") -> None:
        super().__init__(fmt)
        self.style: LogFormat = style
        # The worker tag of ``--workers N`` lines (JSON carries it as a field).
        self._worker = fmt == WORKER_LOG_FORMAT
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add_secrets(self, secrets: Iterable[str]) -> None:
        new = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
        if new <= self._secrets:
            return
        self._secrets |= new
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(self._secrets, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def secrets(self) -> list[str]:
        """The registered secrets (to hand to a worker process's own formatter)."""
        return sorted(self._secrets)

    def redact(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        text = _QUERY_SECRET.sub(lambda m: m["name"] + abbreviate(m["value"]), text)
        return _KEY_SHAPED.sub(lambda m: abbreviate(m[0]), text)

    def format(self, record: logging.LogRecord) -> str:
        if self.style == "json":
            return self._json(record)
        return self.redact(super().format(record))

    def formatMessage(self, record: logging.LogRecord) -> str:
        tag = current()
        if tag is None:
            return super().formatMessage(record)
        # Prefixed to the formatted message (not the record's ``msg``, which other
        # handlers see and whose ``%`` placeholders a model name must not meet).
        keyed = f" key={tag.key_alias}" if tag.key_alias else ""
        message = record.message
        record.message = f"[{tag.session_id} model={tag.model}{keyed}] {message}"
        try:
            return super().formatMessage(record)
        finally:
            record.message = message

    def _json(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        tag = current()
        if tag is not None:
            line["session_id"] = tag.session_id
            line["model"] = tag.model
            if tag.key_alias:
                line["key_alias"] = self.redact(tag.key_alias)
        if self._worker:
            line["worker_pid"] = os.getpid()
        http = getattr(record, "http", None)
        if isinstance(http, dict):
            line["http"] = {k: self.redact(v) if isinstance(v, str) else v for k, v in http.items()}
        if record.exc_info:
            line["exception"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def abbreviate(key: str) -> str:
    """A key as a log may show it: ``sk-...abcd`` (``ek_...abcd``, ``...abcd``), or the
    mask when it is too short to give away four characters."""
    prefix = key[:3] if key.startswith(("sk-", "ek_")) else ""
    rest = key[len(prefix) :]
    return f"{prefix}...{rest[-4:]}" if len(rest) >= _SHOWN_FROM else MASK


def secret_values(params: Mapping[str, object]) -> list[str]:
    """String values under secret-looking keys, at any depth."""
    found: list[str] = []
    for key, value in params.items():
        if isinstance(value, Mapping):
            found += secret_values(value)
        elif isinstance(value, str) and SECRET_PARAM.search(str(key)):
            found.append(value)
    return found


# The formatters configure_logging installed: where register_secrets adds.
_ACTIVE: list[RedactingFormatter] = []


def register_secrets(values: Iterable[str | None]) -> None:
    """Mask these in every log line from now on: for a provider's credentials, from
    wherever they came (the environment, a profile, a role), once it knows them."""
    found = [v for v in values if v]
    for formatter in _ACTIVE:
        formatter.add_secrets(found)


def configure_logging(
    level: str = "INFO",
    stream: TextIO | None = None,
    fmt: str = LOG_FORMAT,
    style: LogFormat = "text",
) -> RedactingFormatter:
    """Send all logs to stderr through a redacting formatter; returns it so that secrets
    found later (after the config is read) can be added."""
    formatter = RedactingFormatter(fmt, style)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    _ACTIVE[:] = [formatter]
    return formatter
