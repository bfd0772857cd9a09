"""The seed's three programs, unmodified, against ``rtcore serve --config <the seed's
config.yaml> --emulator``; and ``--emulator`` with ``--provider`` and ``--transport stdio``.

Everything runs as it would for a newcomer: ``rtcore serve`` and each program are real
subprocesses, the Bedrock provider talks to the in-process emulator through the real SDK.
The audio program's microphone and speaker are WAV files (``fake_pyaudio/``); the rest of
it is the seed's code, byte for byte. The programs dial port 4000; when that port is taken,
a copy differing only in the port is run instead (as in ``test_seed_text.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from rtcore_sonic_emulator import utterance_wav
from rtcore_sonic_emulator.voice import speech_seconds
from tests.seed.test_seed_text import SEED_PORT, _port_free
from tests.transports.process import Served, rtcore

HERE = Path(__file__).parent
CONFIG = HERE / "config.yaml"
PROGRAMS = {
    "text_chat.py": "f784f75f156137fc0b28a29a486fd130cd1eada0627695f87980ecfce731e6c9",
    "audio_chat.py": "8ffe5e8a13cb12ca0b90b37d2d799f27889c69c2c7c094c4be677fd6de0d94f3",
    "tools_chat.py": "82876b88aba44c01bd20a8303f265d0ba157b47dcf5b7bd38a5fa117952cdbe8",
}
CONFIG_SHA256 = "4fa93edcba8cb12506729c6015cf469197462ba4bd7eed75386cf2ba2ab1576b"
EMULATED = "EMULATED REPLIES"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The emulator keeps its CA under XDG_CACHE_HOME: one per test run, not the user's.
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def served(cache_dir: Path) -> Iterator[Served]:
    port = SEED_PORT if _port_free(SEED_PORT) else 0
    env = {"XDG_CACHE_HOME": str(cache_dir)}
    with Served("--config", str(CONFIG), "--emulator", "--port", str(port), env=env) as server:
        yield server


def program(name: str, served: Served, tmp_path: Path) -> Path:
    path = HERE / name
    if served.port == SEED_PORT:
        return path
    copy = tmp_path / name
    copy.write_text(path.read_text().replace("localhost:4000", f"localhost:{served.port}"))
    return copy


def test_programs_and_config_are_the_seed_verbatim() -> None:
    for name, digest in PROGRAMS.items():
        assert hashlib.sha256((HERE / name).read_bytes()).hexdigest() == digest, name
    assert hashlib.sha256(CONFIG.read_bytes()).hexdigest() == CONFIG_SHA256


def test_serve_says_loudly_that_replies_are_emulated(served: Served) -> None:
    warning = next(line for line in served.lines if EMULATED in line)
    assert "WARNING" in warning
    assert "bedrock-sonic" in warning


def test_serve_says_which_model_serves_the_retired_one_and_why(served: Served) -> None:
    # The seed names Nova Sonic v1, which AWS retired on 2026-09-14 (and the emulator, as
    # Bedrock now, answers it with a silent end): its successor serves the seed instead.
    warning = next(line for line in served.lines if "successor" in line)
    assert "WARNING" in warning
    assert "'bedrock-sonic'" in warning
    assert "amazon.nova-sonic-v1:0 reached its end of life on 2026-09-14" in warning
    assert "serving it with its successor amazon.nova-2-sonic-v1:0" in warning
    assert "model_info.use_successor: false" in warning


def test_seed_text_program(served: Served, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(program("text_chat.py", served, tmp_path))],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # v1 answers the typed text (the provider's spoken nudge, the emulator's v1 rule).
    assert result.stdout == "Connected: session.created\nYou said: Hello!\n✓ Complete\n"


def test_seed_tools_program_calls_the_tool_and_completes(served: Served, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(program("tools_chat.py", served, tmp_path))],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # The program stops at the first response.done: the one that carried the tool call
    # (its result and response.create go out just before).
    call = "🔧 Calling get_weather({'location': 'San Francisco'})"
    assert result.stdout == f"\n{call}\n\n✓ Complete\n"


def test_seed_audio_program_with_wav_microphone_and_speaker(served: Served, tmp_path: Path) -> None:
    mic, speaker = tmp_path / "mic.wav", tmp_path / "speaker.wav"
    mic.write_bytes(utterance_wav(0))  # the emulator hears "Hello."
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(HERE / "fake_pyaudio"), os.environ.get("PYTHONPATH", "")]
        ),
        "FAKE_PYAUDIO_INPUT": str(mic),
        "FAKE_PYAUDIO_OUTPUT": str(speaker),
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, str(program("audio_chat.py", served, tmp_path))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    out: list[str] = []
    try:
        assert proc.stdout is not None
        # The program loops forever; it is stopped once its reply is complete.
        for line in proc.stdout:
            out.append(line)
            if "✓ Response complete" in line:
                break
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C, as its user would
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    stdout = "".join(out)
    assert "✓ Connected\n🎤 Speak into your microphone...\n" in stdout, err
    assert "✓ Response complete" in stdout, err
    with wave.open(str(speaker), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        frames = wav.readframes(wav.getnframes())
    # All the reply's audio arrived, at 24 kHz: its length is the emulator's voice for it.
    assert abs(len(frames) / 2 / 24000 - speech_seconds("You said: Hello.")) < 0.05
    assert max(frames) > 0


def test_emulator_with_provider_flag_over_websocket(cache_dir: Path, tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(cache_dir)}
    with Served("--provider", "bedrock-sonic", "--emulator", env=env) as server:
        assert any(EMULATED in line for line in server.lines)
        copy = tmp_path / "text_chat.py"
        copy.write_text(
            (HERE / "text_chat.py")
            .read_text()
            .replace("localhost:4000", f"localhost:{server.port}")
        )
        result = subprocess.run(
            [sys.executable, str(copy)], capture_output=True, text=True, timeout=30, check=False
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("You said: Hello!\n✓ Complete\n")


def test_emulator_over_stdio(cache_dir: Path) -> None:
    events = [
        {"type": "session.update", "session": {"modalities": ["text"]}},
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Hello!"}],
            },
        },
        {"type": "response.create"},
    ]
    result = rtcore(
        "serve",
        "--transport",
        "stdio",
        "--provider",
        "bedrock-sonic",
        "--model",
        "amazon.nova-2-sonic-v1:0",
        "--emulator",
        input="".join(json.dumps(e) + "\n" for e in events),
        env={"XDG_CACHE_HOME": str(cache_dir)},
    )
    assert result.returncode == 0, result.stderr
    assert EMULATED in result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]  # stdout: protocol only
    assert out[-1]["type"] == "response.done"
    assert out[-1]["response"]["status"] == "completed"
    text = "".join(e["delta"] for e in out if e["type"] == "response.text.delta")
    assert text == "You said: Hello!"
