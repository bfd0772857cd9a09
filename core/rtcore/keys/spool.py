"""Session records on local disk until the key store's database has them.

Each record is written here first (its own file, msgspec JSON, fsync'd with its directory)
and removed once the database has taken it. A record the database could not take (an
outage, a shutdown half-way) stays, and is written when the store is back: by the store's
retry every few seconds, and at the next start. Writing is idempotent by request id, so a
record written twice counts once.

An entry being written is locked (``flock``), so that processes sharing the directory
(``--workers``, replicas on one host) never take one another's entries in flight; one
that is not locked is waiting for whoever takes it first.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import msgspec

from rtcore.keys.usage import SessionRecord

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; idempotent writes still count once
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

_SUFFIX = ".json"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


class SpoolEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A session's record, and the lease its end gives back."""

    record: SessionRecord
    lease_id: str | None = None


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(SpoolEntry)


def default_directory(url: str, data_dir: Path) -> Path | None:
    """Beside a SQLite file (``rtcore-4000.db-spool``); for a server database, in the data
    directory, one per database (a spool must never be written to another database)."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return None
        return Path(parsed.database).absolute().with_name(Path(parsed.database).name + "-spool")
    where = f"{parsed.host}:{parsed.port}/{parsed.database}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", parsed.database or "default")
    return data_dir / "spool" / f"{parsed.get_backend_name()}-{name}-{digest}"


class Held:
    """An entry on disk, locked by this process: ``done()`` once the database has it
    (the file goes), else ``release()`` leaves it for a later try."""

    def __init__(self, path: Path, fd: int, entry: SpoolEntry) -> None:
        self.path = path
        self.entry = entry
        self._fd: int | None = fd

    def done(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            # Written already: taken again later, it counts once (idempotent by request id).
            log.warning("a written session record stays in the spool: %s (%s)", self.path, exc)
        self.release()

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def check(self) -> None:
        """Create the directory and prove it takes a durable write (``OSError`` if not);
        what an earlier run left half-written goes."""
        self.directory.mkdir(parents=True, exist_ok=True)
        probe = self.directory / f".probe-{os.getpid()}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"{}")
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink()
        for partial in self.directory.glob(".*.tmp"):
            held = self._lock(partial)
            if held is not None:
                with contextlib.suppress(FileNotFoundError):
                    partial.unlink()
                os.close(held)

    def _name(self, entry: SpoolEntry) -> str:
        request_id = entry.record.request_id
        if not _SAFE_NAME.fullmatch(request_id):
            request_id = hashlib.sha256(request_id.encode()).hexdigest()
        return request_id + _SUFFIX

    def put(self, entry: SpoolEntry) -> Held:
        """Write ``entry`` durably, held (locked) by this process."""
        name = self._name(entry)
        final = self.directory / name
        partial = self.directory / f".{name}.{os.getpid()}.tmp"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # new: nobody else has it
            os.write(fd, _encoder.encode(entry))
            os.fsync(fd)
            os.replace(partial, final)  # the lock moves with the file
            self._sync_directory()
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
        return Held(final, fd, entry)

    def _sync_directory(self) -> None:
        with contextlib.suppress(OSError):  # not every platform opens directories
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def waiting(self) -> bool:
        """Whether any entry is on disk (possibly one being written right now)."""
        try:
            with os.scandir(self.directory) as found:
                return any(e.name.endswith(_SUFFIX) and e.name[0] != "." for e in found)
        except FileNotFoundError:
            return False

    def take(self) -> Iterator[Held]:
        """The entries nobody holds, each held as it is yielded (the caller
        marks it ``done`` or ``release``s it). An unreadable entry is set aside
        (``*.bad``), logged, never retried."""
        try:
            paths = sorted(self.directory.glob("*" + _SUFFIX))
        except FileNotFoundError:
            return
        for path in paths:
            fd = self._lock(path)
            if fd is None:
                continue
            try:
                if os.fstat(fd).st_nlink == 0:  # written and removed meanwhile
                    os.close(fd)
                    continue
                data = b""
                while chunk := os.read(fd, 1 << 16):
                    data += chunk
                entry = _decoder.decode(data)
            except (OSError, msgspec.DecodeError) as exc:
                log.error("a spooled session record is unreadable, set aside: %s (%s)", path, exc)
                with contextlib.suppress(OSError):
                    path.rename(path.with_suffix(".bad"))
                os.close(fd)
                continue
            yield Held(path, fd, entry)

    def _lock(self, path: Path) -> int | None:
        """``path`` opened and locked, or None when it is gone or someone holds it."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
        return fd
