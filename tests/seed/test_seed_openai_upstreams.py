"""The seed's three programs, unmodified, moved to the OpenAI-protocol vendors by
configuration alone: the seed's ``config.yaml`` with its ``bedrock-sonic`` entry pointed at
``openai/gpt-realtime-2``, an Azure deployment or ``xai/grok-voice-think-fast-1.0``
(``rtcore serve --config … --emulator``). The programs still ask for ``bedrock-sonic``,
speak beta without saying so, send 16 kHz audio and ask for Nova's voice ``matthew``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from rtcore_emulated_speech import speech_seconds
from rtcore_sonic_emulator import utterance_wav
from tests.transports.process import Served

HERE = Path(__file__).parent
# The seed's entry, its model moved to each vendor (an Azure deployment says what it
# deploys, for its prices).
VENDORS = {
    "openai": ("openai/gpt-realtime-2", {}),
    "azure": ("azure/seed-realtime", {"base_model": "gpt-realtime"}),
    "xai": ("xai/grok-voice-think-fast-1.0", {}),
}


@pytest.fixture(scope="module", params=list(VENDORS))
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    where = tmp_path_factory.mktemp(f"seed-{request.param}")
    config = yaml.safe_load((HERE / "config.yaml").read_text())
    model, info = VENDORS[request.param]
    [entry] = config["model_list"]
    entry["litellm_params"] = {"model": model}
    entry["model_info"] = {**entry["model_info"], **info}
    path = where / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {"XDG_CACHE_HOME": str(where / "cache")}
    with Served("--config", str(path), "--emulator", env=env) as server:
        yield server
    assert "Traceback" not in server.stderr, server.stderr


def program(name: str, served: Served, tmp_path: Path) -> Path:
    """The seed's program, dialling this server's port instead of 4000."""
    copy = tmp_path / name
    copy.write_text((HERE / name).read_text().replace("localhost:4000", f"localhost:{served.port}"))
    return copy


def run(name: str, served: Served, tmp_path: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(program(name, served, tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_seed_text_program(served: Served, tmp_path: Path) -> None:
    assert run("text_chat.py", served, tmp_path) == (
        "Connected: session.created\nYou said: Hello!\n✓ Complete\n"
    )


def test_seed_tools_program_calls_the_tool_and_completes(served: Served, tmp_path: Path) -> None:
    call = "🔧 Calling get_weather({'location': 'San Francisco'})"
    assert run("tools_chat.py", served, tmp_path) == f"\n{call}\n\n✓ Complete\n"


def test_seed_audio_program_with_wav_microphone_and_speaker(served: Served, tmp_path: Path) -> None:
    mic, speaker = tmp_path / "mic.wav", tmp_path / "speaker.wav"
    mic.write_bytes(utterance_wav(0))  # heard as "Hello."
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
