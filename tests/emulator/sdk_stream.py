"""A thin driver over the real ``aws_sdk_bedrock_runtime`` client for tests and benchmarks.

It sends Nova Sonic events as the SDK would for any application and checks every output event
with :class:`ShapeChecker`. It is deliberately not a provider: no retries, no history, no rotation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from base64 import b64encode
from typing import Any, Self

from tests.emulator.shapes import ShapeChecker

type Event = tuple[str, dict[str, Any]]
SPEECH_SIGNALS = ("userSpeechStart", "userSpeechEnd")


class SonicStream:
    def __init__(self, stream: Any, output: Any) -> None:
        self._stream = stream
        self._output = output
        self._queue: asyncio.Queue[Event | BaseException | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())
        self.checker = ShapeChecker()
        self.prompt = str(uuid.uuid4())
        self.audio_content: str | None = None
        self.received: list[Event] = []
        self.speech_signals: list[Event] = []

    @classmethod
    async def open(cls, client: Any, model_id: str, *, wait: float = 10.0) -> Self:
        from aws_sdk_bedrock_runtime.models import (
            InvokeModelWithBidirectionalStreamOperationInput,
        )

        stream = await asyncio.wait_for(
            client.invoke_model_with_bidirectional_stream(
                InvokeModelWithBidirectionalStreamOperationInput(model_id=model_id)
            ),
            wait,
        )
        return cls(stream, None)

    async def _read(self) -> None:
        try:
            if self._output is None:
                _, self._output = await self._stream.await_output()
            while True:
                item = await self._output.receive()
                if item is None:
                    await self._queue.put(None)
                    return
                document = json.loads(item.value.bytes_)
                await self._queue.put(self.checker.check(document))
        except Exception as exc:
            await self._queue.put(exc)

    async def send(self, name: str, body: dict[str, Any]) -> None:
        from aws_sdk_bedrock_runtime.models import (
            BidirectionalInputPayloadPart,
            InvokeModelWithBidirectionalStreamInputChunk,
        )

        payload = json.dumps({"event": {name: body}}).encode()
        await self._stream.input_stream.send(
            InvokeModelWithBidirectionalStreamInputChunk(
                value=BidirectionalInputPayloadPart(bytes_=payload)
            )
        )

    async def start(
        self,
        *,
        voice: str = "matthew",
        system: str | None = "You are a helpful assistant.",
        tools: list[dict[str, Any]] | None = None,
        sensitivity: str | None = None,
        input_rate: int = 16000,
        output_rate: int = 24000,
        history: list[tuple[str, str]] = (),  # type: ignore[assignment]
        audio: bool = True,
    ) -> None:
        """sessionStart, promptStart, the system prompt, history, and an open AUDIO block."""
        session: dict[str, Any] = {
            "inferenceConfiguration": {"maxTokens": 1024, "topP": 0.9, "temperature": 0.7}
        }
        if sensitivity is not None:
            session["turnDetectionConfiguration"] = {"endpointingSensitivity": sensitivity}
        await self.send("sessionStart", session)
        prompt: dict[str, Any] = {
            "promptName": self.prompt,
            "textOutputConfiguration": {"mediaType": "text/plain"},
            "audioOutputConfiguration": {
                "mediaType": "audio/lpcm",
                "sampleRateHertz": output_rate,
                "sampleSizeBits": 16,
                "channelCount": 1,
                "voiceId": voice,
                "encoding": "base64",
                "audioType": "SPEECH",
            },
        }
        if tools:
            prompt["toolUseOutputConfiguration"] = {"mediaType": "application/json"}
            prompt["toolConfiguration"] = {"tools": tools}
        await self.send("promptStart", prompt)
        if system is not None:
            await self.send_text(system, role="SYSTEM", interactive=False)
        for role, text in history:
            await self.send_text(text, role=role, interactive=False)
        if audio:
            await self.open_audio(input_rate)

    async def open_audio(self, sample_rate: int = 16000) -> None:
        self.audio_content = str(uuid.uuid4())
        await self.send(
            "contentStart",
            {
                "promptName": self.prompt,
                "contentName": self.audio_content,
                "type": "AUDIO",
                "interactive": True,
                "role": "USER",
                "audioInputConfiguration": {
                    "mediaType": "audio/lpcm",
                    "sampleRateHertz": sample_rate,
                    "sampleSizeBits": 16,
                    "channelCount": 1,
                    "audioType": "SPEECH",
                    "encoding": "base64",
                },
            },
        )

    async def send_audio(self, pcm: bytes, *, chunk_samples: int = 1024) -> None:
        assert self.audio_content is not None, "open_audio() first"
        step = chunk_samples * 2
        for offset in range(0, len(pcm), step):
            await self.send(
                "audioInput",
                {
                    "promptName": self.prompt,
                    "contentName": self.audio_content,
                    "content": b64encode(pcm[offset : offset + step]).decode("ascii"),
                },
            )

    async def send_text(self, text: str, *, role: str = "USER", interactive: bool = True) -> None:
        name = str(uuid.uuid4())
        await self.send(
            "contentStart",
            {
                "promptName": self.prompt,
                "contentName": name,
                "type": "TEXT",
                "interactive": interactive,
                "role": role,
                "textInputConfiguration": {"mediaType": "text/plain"},
            },
        )
        await self.send(
            "textInput", {"promptName": self.prompt, "contentName": name, "content": text}
        )
        await self.send("contentEnd", {"promptName": self.prompt, "contentName": name})

    async def send_tool_result(self, tool_use_id: str, result: Any) -> None:
        name = str(uuid.uuid4())
        await self.send(
            "contentStart",
            {
                "promptName": self.prompt,
                "contentName": name,
                "interactive": False,
                "type": "TOOL",
                "role": "TOOL",
                "toolResultInputConfiguration": {
                    "toolUseId": tool_use_id,
                    "type": "TEXT",
                    "textInputConfiguration": {"mediaType": "text/plain"},
                },
            },
        )
        content = result if isinstance(result, str) else json.dumps(result)
        await self.send(
            "toolResult", {"promptName": self.prompt, "contentName": name, "content": content}
        )
        await self.send("contentEnd", {"promptName": self.prompt, "contentName": name})

    async def next(self, wait: float = 10.0) -> Event | None:
        """The next output event; raises what the SDK raised; None at the end of the stream.
        Nova 2's speech signals (userSpeechStart/End, outside completions) are set aside in
        ``speech_signals``, so sequences of a turn read the same on both models."""
        while True:
            item = await asyncio.wait_for(self._queue.get(), wait)
            if isinstance(item, BaseException):
                raise item
            if item is not None and item[0] in SPEECH_SIGNALS:
                self.speech_signals.append(item)
                continue
            if item is not None:
                self.received.append(item)
            return item

    async def until(
        self, name: str, *, wait: float = 10.0, **fields: Any
    ) -> tuple[list[Event], dict[str, Any]]:
        """Events up to and including the first ``name`` whose body has ``fields``."""
        seen: list[Event] = []
        async with asyncio.timeout(wait):
            while True:
                event = await self.next(wait)
                if event is None:
                    raise EOFError(f"stream ended before {name} {fields}")
                seen.append(event)
                if event[0] == name and all(event[1].get(k) == v for k, v in fields.items()):
                    return seen, event[1]

    async def drain(self, wait: float = 10.0) -> list[Event]:
        """Every remaining event until the stream ends; raises what the SDK raised."""
        seen: list[Event] = []
        while (event := await self.next(wait)) is not None:
            seen.append(event)
        return seen

    async def close(self, *, wait: float = 5.0) -> None:
        """End audio, prompt and session as a well-behaved client does, then the input."""
        with contextlib.suppress(Exception):
            if self.audio_content is not None:
                await self.send(
                    "contentEnd", {"promptName": self.prompt, "contentName": self.audio_content}
                )
                self.audio_content = None
            await self.send("promptEnd", {"promptName": self.prompt})
            await self.send("sessionEnd", {})
        await self.aclose(wait=wait)

    async def aclose(self, *, wait: float = 5.0) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._stream.input_stream.close(), wait)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._reader), wait)
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
