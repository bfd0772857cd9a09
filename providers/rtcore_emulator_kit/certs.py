"""A local certificate authority and a ``localhost`` server certificate, made once per cert dir.

The CA is written as ``ca.pem`` so clients can point at a single file. Each emulator names its
own default directory and CA, so two emulators never hand a client each other's trust.
"""

from __future__ import annotations

import fcntl
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

_CA = "ca.pem"
_CERT = "localhost.pem"
_KEY = "localhost-key.pem"


@dataclass(frozen=True, slots=True)
class CertFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


@dataclass(frozen=True, slots=True)
class LocalCA:
    """An emulator's CA: the folder under the user's cache it is kept in by default, and the
    organization its certificate names."""

    folder: str
    organization: str

    def default_dir(self) -> Path:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "rtcore" / self.folder

    def ensure(self, cert_dir: str | os.PathLike[str] | None = None) -> CertFiles:
        """Return the CA and server certificate in ``cert_dir``, creating them on first use."""
        directory = Path(cert_dir) if cert_dir is not None else self.default_dir()
        files = CertFiles(directory / _CA, directory / _CERT, directory / _KEY)
        if _complete(files):
            return files
        directory.mkdir(parents=True, exist_ok=True)
        # Processes sharing a cert dir (parallel test workers) must agree on one CA.
        with open(directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not _complete(files):
                self._write(files)
        return files

    def _write(self, files: CertFiles) -> None:
        # Only here: an emulator serving plain ws:// never needs trustme.
        import trustme

        ca = trustme.CA(organization_name=self.organization)
        leaf = ca.issue_cert("localhost", "127.0.0.1", "::1")
        # Rename into place so a reader that skips the lock never sees a half-written file.
        pending = [
            (files.ca_file, ca.cert_pem.bytes()),
            (files.cert_file, b"".join(blob.bytes() for blob in leaf.cert_chain_pems)),
            (files.key_file, leaf.private_key_pem.bytes()),
        ]
        for path, data in pending:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            if path is files.key_file:
                tmp.chmod(0o600)
            tmp.replace(path)


def _complete(files: CertFiles) -> bool:
    return all(path.is_file() for path in (files.ca_file, files.cert_file, files.key_file))


def server_ssl_context(files: CertFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(files.cert_file), str(files.key_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def client_ssl_context(ca_file: str | os.PathLike[str]) -> ssl.SSLContext:
    """A client context that trusts the emulator's CA and nothing else (never the process's
    ``SSL_CERT_FILE``), for an SDK that takes one (google-genai: ``http_options={
    "async_client_args": {"ssl": ...}}``)."""
    return ssl.create_default_context(cafile=str(ca_file))
