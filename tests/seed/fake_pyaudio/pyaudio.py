"""A stand-in for PyAudio whose microphone and speaker are WAV files.

Put this folder first on ``PYTHONPATH`` to run a program that records and plays through
PyAudio unchanged. ``FAKE_PYAUDIO_INPUT`` names the WAV the microphone plays (then
silence, as a quiet room); ``FAKE_PYAUDIO_OUTPUT`` names the WAV the speaker writes, at the
rate the program opened it with. Reads block for the duration they return, as a real
microphone does; every write reaches the disk at once, so the file is complete even when
the program is stopped by a signal.
"""

from __future__ import annotations

import os
import time
import wave
from typing import BinaryIO

paInt16 = 8


class Stream:
    def __init__(self, rate: int, channels: int, *, input: bool, output: bool) -> None:
        self._rate = rate
        self._channels = channels
        self._frame_bytes = 2 * channels
        self._source = b""
        self._offset = 0
        self._started = time.monotonic()
        self._read_frames = 0
        self._sink: wave.Wave_write | None = None
        self._file: BinaryIO | None = None
        if input:
            with wave.open(os.environ["FAKE_PYAUDIO_INPUT"], "rb") as wav:
                if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (
                    rate,
                    channels,
                    2,
                ):
                    raise ValueError("the input WAV does not match the stream's format")
                self._source = wav.readframes(wav.getnframes())
        if output:
            # Kept open for the stream's life, like a sound device.
            self._file = open(os.environ["FAKE_PYAUDIO_OUTPUT"], "wb")  # noqa: SIM115
            self._sink = wave.open(self._file, "wb")  # noqa: SIM115
            self._sink.setnchannels(channels)
            self._sink.setsampwidth(2)
            self._sink.setframerate(rate)

    def read(self, num_frames: int, exception_on_overflow: bool = True) -> bytes:
        size = num_frames * self._frame_bytes
        data = self._source[self._offset : self._offset + size]
        self._offset += len(data)
        data += bytes(size - len(data))
        self._read_frames += num_frames
        due = self._started + self._read_frames / self._rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return data

    def write(self, frames: bytes) -> None:
        assert self._sink is not None
        assert self._file is not None
        self._sink.writeframes(frames)  # also rewrites the header's length
        self._file.flush()

    def stop_stream(self) -> None:
        pass

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None


class PyAudio:
    def open(
        self,
        format: int,
        channels: int,
        rate: int,
        input: bool = False,
        output: bool = False,
        frames_per_buffer: int = 1024,
    ) -> Stream:
        if format != paInt16:
            raise ValueError("only paInt16 is emulated")
        return Stream(rate, channels, input=input, output=output)

    def terminate(self) -> None:
        pass
