"""The README's set-up on a fresh clone, as a newcomer runs it: ``make serve`` (with a port
through the documented variable), then the seed's three programs, verbatim, against it.

The programs dial port 4000; the server here listens where ``PORT`` says, so they run
through ``tests/seed/run.py`` with the same variable, as the README shows for another port
(the program files are the seed's, byte for byte: ``tests/seed/test_seed_emulator.py``
pins their digests). The audio program's microphone and speaker are WAV files
(``tests/seed/fake_pyaudio``), as everywhere in the suite.
"""

from __future__ import annotations

import signal
import subprocess
import urllib.request
import wave
from pathlib import Path

import pytest

from rtcore_sonic_emulator import utterance_wav
from rtcore_sonic_emulator.voice import speech_seconds
from tests.newcomer.conftest import README, RUN_SEED, SERVE, MakeServe

pytestmark = pytest.mark.slow


def seed_program(name: str) -> list[str]:
    """The README's command for a seed program on another port, less its ``PORT=4100``
    (the environment gives this server's)."""
    variable, *command = RUN_SEED.replace("text_chat.py", name).split()
    assert variable == "PORT=4100"
    return command


def run_seed(make_serve: MakeServe, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        seed_program(name),
        cwd=make_serve.clone,
        env={**make_serve.env, "PORT": str(make_serve.port)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_readme_shows_these_commands() -> None:
    assert "```bash\nmake serve   #" in README
    assert SERVE in README
    assert RUN_SEED in README


def test_make_serve_installs_and_serves_the_emulated_model(make_serve: MakeServe) -> None:
    log = make_serve.output
    assert ".venv/bin/rtcore serve --provider bedrock-sonic --emulator" in log
    assert "EMULATED REPLIES" in log
    assert f"listening on ws://127.0.0.1:{make_serve.port}/v1/realtime" in log
    # What the README runs next is installed, and the test tools are not.
    assert (make_serve.venv_bin / "rtcore").exists()
    assert not (make_serve.venv_bin / "pytest").exists()
    assert "end of life" not in log  # nobody named v1
    assert "Traceback" not in log


def test_the_seed_text_program(make_serve: MakeServe) -> None:
    result = run_seed(make_serve, "text_chat.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Connected: session.created\nYou said: Hello!\n✓ Complete\n"


def test_the_seed_tools_program(make_serve: MakeServe) -> None:
    result = run_seed(make_serve, "tools_chat.py")
    assert result.returncode == 0, result.stderr
    call = "🔧 Calling get_weather({'location': 'San Francisco'})"
    assert result.stdout == f"\n{call}\n\n✓ Complete\n"


def test_the_seed_audio_program(make_serve: MakeServe, tmp_path: Path) -> None:
    mic, speaker = tmp_path / "mic.wav", tmp_path / "speaker.wav"
    mic.write_bytes(utterance_wav(0))  # the emulator hears "Hello."
    env = {
        **make_serve.env,
        "PORT": str(make_serve.port),
        "PYTHONPATH": str(make_serve.clone / "tests" / "seed" / "fake_pyaudio"),
        "FAKE_PYAUDIO_INPUT": str(mic),
        "FAKE_PYAUDIO_OUTPUT": str(speaker),
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        seed_program("audio_chat.py"),
        cwd=make_serve.clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    stdout = "".join(out)
    assert "✓ Connected\n🎤 Speak into your microphone...\n" in stdout, err
    assert "✓ Response complete" in stdout, err
    with wave.open(str(speaker), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        frames = wav.readframes(wav.getnframes())
    assert abs(len(frames) / 2 / 24000 - speech_seconds("You said: Hello.")) < 0.05


def test_the_playground_is_served(make_serve: MakeServe) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{make_serve.port}/", timeout=10) as page:
        assert page.status == 200
        assert "rtcore playground" in page.read().decode()
