"""The processes a run starts: the emulator, ``rtcore serve``, LiteLLM's proxy."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bench import pinning
from bench import speech as sig

REPO = Path(__file__).resolve().parent.parent
MODEL_ID = "amazon.nova-2-sonic-v1:0"
GEMINI_MODEL_ID = "gemini-3.8-live"
OPENAI_MODEL_ID = "gpt-realtime-2"
PROVIDERS = ("nova", "gemini", "openai")
# Made up: the Gemini Live and OpenAI Realtime emulators take any API key.
GEMINI_API_KEY = "bench-gemini-key"
OPENAI_API_KEY = "sk-bench-openai"
API_KEYS = {"gemini": GEMINI_API_KEY, "openai": OPENAI_API_KEY}
_MODEL_IDS = {"nova": MODEL_ID, "gemini": GEMINI_MODEL_ID, "openai": OPENAI_MODEL_ID}
LITELLM_SPEC = "litellm[proxy,bedrock-realtime]"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def stop_process(proc: asyncio.subprocess.Process, grace: float = 10.0) -> None:
    """SIGTERM ``proc`` (a process this harness started), SIGKILL if it lingers."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(grace):
            await proc.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


class Emulator:
    def __init__(self, proc: asyncio.subprocess.Process, info: dict[str, Any]) -> None:
        self.proc = proc
        self.endpoint: str = info["endpoint"]
        self.ca_file: str = info["ca_file"]
        self.pid: int = info["pid"]
        self.provider: str = info.get("provider", "nova")

    @property
    def model_id(self) -> str:
        return _MODEL_IDS[self.provider]

    @classmethod
    async def start(
        cls,
        cert_dir: Path,
        *,
        loop: str = "auto",
        provider: str = "nova",
        faults: Sequence[str] = (),
    ) -> Emulator:
        """``faults``: what every connection suffers (the OpenAI emulator's fault specs)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.emulator",
            "--cert-dir",
            str(cert_dir),
            "--loop",
            loop,
            "--provider",
            provider,
            *(flag for spec in faults for flag in ("--fault", spec)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=REPO,
        )
        assert proc.stdout is not None
        async with asyncio.timeout(30):
            line = await proc.stdout.readline()
        return cls(proc, json.loads(line))

    async def _ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()
        async with asyncio.timeout(60):
            answer: dict[str, Any] = json.loads(await self.proc.stdout.readline())
        return answer

    async def dump(self, path: Path) -> dict[str, Any]:
        await self._ask(f"dump {path}")
        data: dict[str, Any] = json.loads(await asyncio.to_thread(path.read_text))
        return data

    async def wait_idle(self, limit: float = 15.0) -> None:
        deadline = time.monotonic() + limit
        # Polls another process: there is no event to wait on.
        while time.monotonic() < deadline and (await self._ask("stats"))["active"]:  # noqa: ASYNC110
            await asyncio.sleep(0.25)

    async def wait_active(self, count: int, limit: float = 60.0) -> None:
        """Until the emulator holds ``count`` connections (or ``limit`` seconds passed)."""
        deadline = time.monotonic() + limit
        # Polls another process: there is no event to wait on.
        while time.monotonic() < deadline and (await self._ask("stats"))["active"] < count:  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        await stop_process(self.proc)


async def wait_http(port: int, path: str, proc: asyncio.subprocess.Process, limit: float) -> None:
    """Until ``GET path`` answers (any status): the server accepted a connection and served."""
    deadline = time.monotonic() + limit
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.005)
            continue
        try:
            writer.write(request)
            if (await reader.read(12)).startswith(b"HTTP/1.1"):
                return
        except OSError:
            pass
        finally:
            writer.close()
        await asyncio.sleep(0.005)
    raise TimeoutError(f"no answer on port {port} within {limit:.0f} s")


class Gateway:
    def __init__(self, name: str, proc: asyncio.subprocess.Process, port: int) -> None:
        self.name = name
        self.proc = proc
        self.port = port
        self.startup_seconds = 0.0
        self.headers: dict[str, str] = {}
        self.url = ""

    async def stop(self) -> None:
        await stop_process(self.proc)


# Made up: the emulator wants a SigV4-signed request; it checks no key or signature.
_CREDENTIALS = {
    "aws_access_key_id": "AKIDBENCH",
    "aws_secret_access_key": "bench-secret",
    "aws_region_name": "us-east-1",
}


def _bench_model(emulator: Emulator, **params: Any) -> dict[str, Any]:
    """The one model both gateways serve (LiteLLM's config format, which rtcore reads
    too): Nova Sonic, Gemini Live or OpenAI Realtime, at the emulator."""
    if emulator.provider == "openai":
        return {
            "model_name": "bench",
            "litellm_params": {
                "model": f"openai/{OPENAI_MODEL_ID}",
                "api_base": emulator.endpoint,
                "api_key": OPENAI_API_KEY,
                **params,
            },
        }
    if emulator.provider == "gemini":
        return {
            "model_name": "bench",
            "litellm_params": {
                "model": f"gemini/{GEMINI_MODEL_ID}",
                "api_base": emulator.endpoint,
                "api_key": GEMINI_API_KEY,
                **params,
            },
        }
    return {
        "model_name": "bench",
        "litellm_params": {
            "model": f"bedrock/{MODEL_ID}",
            "api_base": emulator.endpoint,
            **_CREDENTIALS,
            **params,
        },
    }


async def start_rtcore(
    emulator: Emulator,
    workdir: Path,
    *,
    workers: int,
    options: dict[str, Any],
    loop: str = "auto",
    cpus: frozenset[int] | None = None,
    extra: list[str] | None = None,
) -> Gateway:
    """``extra``: more ``rtcore serve`` flags (after the harness's own, so they win)."""
    # The OpenAI emulator is plain ws:// on loopback: no CA to trust.
    trust = {"ssl_ca_file": emulator.ca_file} if emulator.ca_file else {}
    config = {"model_list": [_bench_model(emulator, **trust, **options)]}
    path = workdir / "rtcore.yaml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    command = [str(Path(sys.executable).parent / "rtcore"), "serve", "--config", str(path)]
    command += ["--port", str(port), "--log-level", "warning", "--loop", loop]
    if workers > 1:
        command += ["--workers", str(workers)]
    command += extra or []
    log = (workdir / "rtcore.log").open("wb")
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *command, stdout=log, stderr=log, cwd=workdir, preexec_fn=pinning.on(cpus)
    )
    gateway = Gateway("rtcore", proc, port)
    await wait_http(port, "/health", proc, 30)
    gateway.startup_seconds = time.monotonic() - began
    # What the load's "pcm16" is: 16 kHz, or for OpenAI its own 24 kHz (nothing converted).
    rate = sig.rate_of(emulator.provider)
    gateway.url = f"ws://127.0.0.1:{port}/v1/realtime?model=bench&input_audio_rate={rate}"
    return gateway


def litellm_venv() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "rtcore" / "bench" / "litellm-venv"


def _exists(path: Path) -> bool:
    return path.exists()


def _base_python() -> str:
    """The interpreter this venv was made from: LiteLLM's venv needs no Python of its own,
    and a pyenv shim would depend on the working directory's ``.python-version``."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(sys.base_prefix) / "bin" / version
    if base.exists():
        return str(base)
    found = shutil.which(version)
    if found is None:
        raise RuntimeError(f"LiteLLM's venv needs {version}, which was not found")
    return found


async def ensure_litellm(venv: Path) -> Path:
    """LiteLLM's proxy in a venv of its own (installed on first use); its ``litellm`` path."""
    exe = venv / "bin" / "litellm"
    if _exists(exe):
        return exe
    python = _base_python()
    print(f"installing LiteLLM into {venv} (once)...", file=sys.stderr)
    for command in (
        [python, "-m", "venv", str(venv)],
        [str(venv / "bin" / "pip"), "install", "--quiet", LITELLM_SPEC],
    ):
        proc = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        try:
            async with asyncio.timeout(1200):
                _, err = await proc.communicate()
        except TimeoutError:
            await stop_process(proc)
            raise RuntimeError(f"{command[0]} timed out") from None
        if proc.returncode:
            raise RuntimeError(f"{' '.join(command[:3])} failed: {err.decode()[-500:]}")
    if not _exists(exe):
        raise RuntimeError("the LiteLLM install has no litellm command")
    return exe


async def start_litellm(
    emulator: Emulator, workdir: Path, exe: Path, *, cpus: frozenset[int] | None = None
) -> Gateway:
    key = "sk-bench-" + secrets.token_hex(16)
    config = {
        "model_list": [{**_bench_model(emulator), "model_info": {"mode": "realtime"}}],
        "general_settings": {"master_key": key},
    }
    path = workdir / "litellm.yaml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    env = dict(os.environ)
    # Trust for this process only: awscrt reads SSL_CERT_FILE; it ignores AWS_CA_BUNDLE.
    env["SSL_CERT_FILE"] = emulator.ca_file
    env.pop("AWS_CA_BUNDLE", None)
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env["AWS_ACCESS_KEY_ID"] = _CREDENTIALS["aws_access_key_id"]
    env["AWS_SECRET_ACCESS_KEY"] = _CREDENTIALS["aws_secret_access_key"]
    env["AWS_REGION_NAME"] = _CREDENTIALS["aws_region_name"]
    command = [str(exe), "--config", str(path), "--host", "127.0.0.1", "--port", str(port)]
    log = (workdir / "litellm.log").open("wb")
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *command, stdout=log, stderr=log, cwd=workdir, env=env, preexec_fn=pinning.on(cpus)
    )
    gateway = Gateway("litellm", proc, port)
    try:
        await wait_http(port, "/health/liveliness", proc, 180)
    except BaseException:
        await gateway.stop()
        raise
    gateway.startup_seconds = time.monotonic() - began
    gateway.url = f"ws://127.0.0.1:{port}/v1/realtime?model=bench"
    gateway.headers = {"Authorization": f"Bearer {key}"}
    return gateway
