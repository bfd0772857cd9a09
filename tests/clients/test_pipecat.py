"""pipecat's ``OpenAIRealtimeLLMService``, unmodified and with its defaults, against ``rtcore
serve`` on each provider upstream (tests/clients/conftest.py).

The pipeline is the one pipecat's examples build (context aggregators around the service),
with a recorder where a transport's output would be; the test feeds frames where a
transport's input would. The only change a pipecat user makes is ``base_url`` and the
model name. Spoken turns use pipecat's default server VAD, with input at 16 kHz (pipecat's
default) or 24 kHz (the service resamples to 24 kHz); push-to-talk is pipecat's manual
mode (``turn_detection=False``): the app marks the turn with UserStarted/Stopped frames
and the service commits and asks for the reply.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    ErrorFrame,
    Frame,
    InputAudioRawFrame,
    LLMFullResponseEndFrame,
    LLMRunFrame,
    TTSAudioRawFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.openai.realtime import events
from pipecat.services.openai.realtime.llm import OpenAIRealtimeLLMService
from pipecat.workers.runner import WorkerRunner

from rtcore_sonic_emulator import utterance_pcm
from tests.clients.conftest import Upstream
from tests.transports.process import Served

WEATHER = FunctionSchema(
    name="get_weather",
    description="Get the current weather for a city",
    properties={"city": {"type": "string"}},
    required=["city"],
)


class Recorder(FrameProcessor):
    """Where a transport's output would be: keeps what reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []
        self.arrived: dict[int, float] = {}  # frame id -> when it got here (monotonic)
        self.replies = 0
        self._replied = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        self.frames.append(frame)
        self.arrived[frame.id] = time.monotonic()
        if isinstance(frame, LLMFullResponseEndFrame):
            self.replies += 1
            self._replied.set()
        await self.push_frame(frame, direction)

    async def replied(self, count: int, within: float = 20.0) -> None:
        async with asyncio.timeout(within):
            while self.replies < count:
                self._replied.clear()
                await self._replied.wait()

    def of(self, kind: type[Frame]) -> list[Any]:
        return [f for f in self.frames if isinstance(f, kind)]

    def audio_seconds(self) -> float:
        return sum(len(f.audio) / 2 / f.sample_rate for f in self.of(TTSAudioRawFrame))


class Bot:
    def __init__(self, worker: PipelineWorker, recorder: Recorder, context: LLMContext) -> None:
        self.worker = worker
        self.recorder = recorder
        self.context = context

    async def say(self, pcm: bytes, rate: int, *, silence_after: float = 0.0) -> float:
        """Feed ``pcm`` as a microphone would (20 ms frames, real time), then silence;
        returns when the feeding began (monotonic)."""
        step = rate // 50 * 2
        total = len(pcm) + int(silence_after * rate) * 2
        started = time.monotonic()
        for offset in range(0, total, step):
            chunk = pcm[offset : offset + step].ljust(step, b"\0")
            await self.worker.queue_frame(
                InputAudioRawFrame(audio=chunk, sample_rate=rate, num_channels=1)
            )
            due = started + (offset + step) / (rate * 2)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        return started

    def messages(self) -> list[tuple[str, str]]:
        return [
            (m["role"], m["content"])
            for m in self.context.get_messages()
            if isinstance(m, dict) and isinstance(m.get("content"), str)
        ]


@asynccontextmanager
async def pipecat_bot(
    served: Served,
    upstream: Upstream,
    *,
    messages: list[dict[str, Any]],
    tools: list[FunctionSchema] | None = None,
    rate: int = 16000,
    push_to_talk: bool = False,
) -> AsyncIterator[Bot]:
    # Transcription on, as pipecat's examples set it: the user's turns reach the
    # context through their transcripts.
    transcription = events.InputAudioTranscription()
    audio_in = events.AudioInput(transcription=transcription)
    if push_to_talk:
        audio_in = events.AudioInput(transcription=transcription, turn_detection=False)
    session = events.SessionProperties(audio=events.AudioConfiguration(input=audio_in))
    llm = OpenAIRealtimeLLMService(
        api_key="sk-test",
        base_url=f"ws://127.0.0.1:{served.port}/v1/realtime",
        settings=OpenAIRealtimeLLMService.Settings(
            model=upstream.name, system_instruction="Be brief.", session_properties=session
        ),
    )

    async def get_weather(params: Any) -> None:
        await params.result_callback({"weather": f"Sunny in {params.arguments['city']}"})

    llm.register_function("get_weather", get_weather)
    context = (
        LLMContext(messages=messages, tools=ToolsSchema(standard_tools=tools))  # type: ignore[arg-type]
        if tools
        else LLMContext(messages=messages)  # type: ignore[arg-type]
    )
    pair = LLMContextAggregatorPair(context)
    recorder = Recorder()
    worker = PipelineWorker(
        Pipeline([pair.user(), llm, recorder, pair.assistant()]),
        params=PipelineParams(audio_in_sample_rate=rate),
        enable_rtvi=False,
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    try:
        yield Bot(worker, recorder, context)
    finally:
        await worker.cancel()
        await running
    assert recorder.of(ErrorFrame) == []


async def test_text_turn(served_upstream: Served, upstream: Upstream) -> None:
    context = [{"role": "user", "content": "Hello there"}]
    async with pipecat_bot(served_upstream, upstream, messages=context) as bot:
        await bot.worker.queue_frames([LLMRunFrame()])
        await bot.recorder.replied(1)
        await asyncio.sleep(0.2)  # the assistant aggregator writes the turn into the context
        assert bot.messages()[-1] == ("assistant", upstream.reply("Hello there"))
        assert bot.recorder.audio_seconds() > 1.0


async def test_tool_turn(served_upstream: Served, upstream: Upstream) -> None:
    context = [{"role": "user", "content": "What's the weather in Paris?"}]
    async with pipecat_bot(served_upstream, upstream, messages=context, tools=[WEATHER]) as bot:
        await bot.worker.queue_frames([LLMRunFrame()])
        await bot.recorder.replied(2)
        await asyncio.sleep(0.2)
        messages = bot.context.get_messages()
        calls = [m for m in messages if isinstance(m, dict) and m.get("tool_calls")]
        (call,) = calls[0]["tool_calls"]  # type: ignore[index]
        assert call["function"]["name"] == "get_weather"
        assert len(call["id"]) <= 32
        results = [m for m in messages if isinstance(m, dict) and m.get("role") == "tool"]
        assert results[0]["tool_call_id"] == call["id"]  # type: ignore[index]
        assert "Sunny in Paris" in bot.messages()[-1][1]


@pytest.mark.parametrize("rate", [16000, 24000])
async def test_spoken_turn_with_server_vad(
    served_upstream: Served, upstream: Upstream, rate: int
) -> None:
    """The bot greets (pipecat's examples start with LLMRunFrame), then the user asks the
    emulator's utterance 1 and hears the answer. pipecat stops its own playback on
    ``speech_started``, so that must come with the speech, not after the model's pause."""
    async with pipecat_bot(served_upstream, upstream, messages=[], rate=rate) as bot:
        await bot.worker.queue_frames([LLMRunFrame()])
        await bot.recorder.replied(1)
        speech = utterance_pcm(1, sample_rate=rate)  # 0.1 s silence, 0.6 s tone, silence
        fed = await bot.say(speech, rate, silence_after=1.0)
        await bot.recorder.replied(2)
        await asyncio.sleep(0.2)
        said = upstream.heard(1)
        assert bot.messages()[-2:] == [("user", said), ("assistant", upstream.reply(said))]
        starts = bot.recorder.of(UserStartedSpeakingFrame)
        stops = bot.recorder.of(UserStoppedSpeakingFrame)
        assert len(starts) == len(stops) == 1
        # While the user is still speaking (the tone ends 0.7 s into the feed), not with
        # the transcript after the model's end-of-turn pause (a second or more after it).
        assert bot.recorder.arrived[starts[0].id] - fed < 0.7


@pytest.mark.parametrize("rate", [16000, 24000])
async def test_push_to_talk(served_upstream: Served, upstream: Upstream, rate: int) -> None:
    async with pipecat_bot(
        served_upstream, upstream, messages=[], rate=rate, push_to_talk=True
    ) as bot:
        await bot.worker.queue_frames([LLMRunFrame()])
        await bot.recorder.replied(1)
        await bot.worker.queue_frame(UserStartedSpeakingFrame())  # the button goes down
        await bot.say(utterance_pcm(1, sample_rate=rate)[: rate * 2 * 8 // 10], rate)
        await bot.worker.queue_frame(UserStoppedSpeakingFrame())  # ...and up
        await bot.recorder.replied(2)
        await asyncio.sleep(0.5)  # nothing more may come
        assert bot.recorder.replies == 2
        said = upstream.heard(1)
        assert bot.messages()[-2:] == [("user", said), ("assistant", upstream.reply(said))]
