"""One session's usage, counted as it runs (integers only on the audio path) and
summed up once when it ends: the record the spend log keeps and plugins are handed."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import msgspec

from rtcore.keys.pricing import cost
from rtcore.provider import Prices
from rtcore.provider.messages import ResponseDone, SessionConfig, Usage


class ResponseRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One response of a session: when it began and ended, how, and what it used (the
    usage its upstream reported). No text of it: records go to disk and to plugins."""

    response_id: str
    model: str  # the provider's model id that answered it
    deployment: str
    start_time: datetime.datetime
    end_time: datetime.datetime
    status: str  # "completed", "cancelled", "incomplete" or "failed"
    reason: str | None  # OpenAI's status_details.reason, or the failure's code
    usage: Usage
    # What the model said (its text, or its audio's transcript): only when the server was
    # asked to keep it for a callback (``ServeSettings.response_text``); never stored.
    output_text: str | None = None

    def without_text(self) -> ResponseRecord:
        return self if self.output_text is None else msgspec.structs.replace(self, output_text=None)


class McpCallsRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A session's calls to one MCP server (by its ``server_label``): how many, how many
    failed (or were stopped), the seconds they took in all, the bytes of output they gave
    the model."""

    server_label: str
    calls: int
    failed: int
    seconds: float
    output_bytes: int


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What a session used, from its start to its end (``rtcore_session_ended``)."""

    request_id: str
    key_hash: str | None  # the virtual key's SHA-256; None for the master key
    key_alias: str | None
    model: str  # the provider's model id
    model_group: str  # the configured model name clients ask for
    deployment: str  # the deployment that served it (model_info.id, NAME[k], or the name)
    start_time: datetime.datetime
    end_time: datetime.datetime
    end_reason: str  # "client_closed", or the error code that ended it
    audio_seconds_in: float
    audio_seconds_out: float
    usage: Usage
    spend: float
    # Its responses in the order they ended (a session that asked for none has none).
    responses: tuple[ResponseRecord, ...] = ()
    provider: str = ""  # the provider plugin's name (``ProviderSpec.name``)
    # The MCP tools the gateway ran for it, per server, in the order first called.
    mcp_calls: tuple[McpCallsRecord, ...] = ()

    def without_text(self) -> SessionRecord:
        """The record as it may be stored: no response's text."""
        if all(r.output_text is None for r in self.responses):
            return self
        return msgspec.structs.replace(
            self, responses=tuple(r.without_text() for r in self.responses)
        )


class Meter:
    """Counts a session's audio and usage; ``over_budget`` and ``over_tokens_per_minute``
    after each response.

    ``tokens_per_minute`` is the key's ``tpm_limit``, and ``tokens_before`` what its
    sessions had used in the minute this one opened in (their records written): the
    session's own tokens add to them in that minute, and alone from the next."""

    def __init__(
        self,
        prices: Prices,
        *,
        budget_left: float | None = None,
        tokens_per_minute: int | None = None,
        tokens_before: int = 0,
        keep_text: bool = False,
    ) -> None:
        self.prices = prices
        self.budget_left = budget_left
        # Whether each response's record carries what the model said (a callback asked).
        self.keep_text = keep_text
        self.started = datetime.datetime.now(datetime.UTC)
        self.tokens_per_minute = tokens_per_minute
        self.minute_tokens = tokens_before
        self._minute = _minute_of(self.started)
        self.request_id = f"sess_{uuid.uuid4().hex}"
        # Seconds of audio sent to the provider and received from it, each chunk counted at
        # the rate in force when it crossed (a session.update may change it midway).
        self.seconds_in = 0.0
        self.seconds_out = 0.0
        self.input_rate = 16000
        self.output_rate = 24000
        # Bytes a sample: 2 for PCM16, 1 for G.711 passed through.
        self.input_width = 2
        self.output_width = 2
        self._usage = [0, 0, 0, 0, 0, 0]
        # A session moved to another model (a failover) is charged at each model's prices
        # for what it used there: the spend before the move, and the counts it began at.
        self._banked = 0.0
        self._base: tuple[list[int], float, float] = ([0] * 6, 0.0, 0.0)
        # Responses by id while open (when each began), then their records: once per
        # response, never per chunk.
        self._opened: dict[str, datetime.datetime] = {}
        self._responses: list[ResponseRecord] = []
        # MCP calls per server label: calls, failed, seconds, output bytes.
        self._mcp: dict[str, list[float]] = {}

    def response_started(self, response_id: str) -> None:
        self._opened.setdefault(response_id, datetime.datetime.now(datetime.UTC))

    def response_done(
        self, done: ResponseDone, *, model: str, deployment: str, said: str | None = None
    ) -> None:
        now = datetime.datetime.now(datetime.UTC)
        reason = done.error.code if done.error is not None else done.reason
        self._responses.append(
            ResponseRecord(
                response_id=done.response_id,
                model=model,
                deployment=deployment,
                start_time=self._opened.pop(done.response_id, now),
                end_time=now,
                status=done.status,
                reason=reason,
                usage=done.usage,
                output_text=said,
            )
        )

    def mcp_call(self, label: str, seconds: float, output_bytes: int, failed: bool) -> None:
        """The gateway ran a tool of MCP server ``label`` (``failed``: it gave no output)."""
        counts = self._mcp.setdefault(label, [0, 0, 0.0, 0])
        counts[0] += 1
        counts[1] += failed
        counts[2] += seconds
        counts[3] += output_bytes

    def add_usage(self, usage: Usage) -> None:
        u = self._usage
        u[0] += usage.input_text_tokens
        u[1] += usage.input_audio_tokens
        u[2] += usage.output_text_tokens
        u[3] += usage.output_audio_tokens
        u[4] += usage.cached_tokens
        u[5] += usage.cached_audio_tokens
        minute = _minute_of(datetime.datetime.now(datetime.UTC))
        if minute != self._minute:
            self._minute, self.minute_tokens = minute, 0
        self.minute_tokens += (
            usage.input_text_tokens
            + usage.input_audio_tokens
            + usage.output_text_tokens
            + usage.output_audio_tokens
        )

    @property
    def usage(self) -> Usage:
        return _usage(self._usage)

    def reprice(self, prices: Prices) -> None:
        """What is used from now on costs ``prices`` (the session moved to another
        model); what was used before keeps the prices it was used at."""
        self._banked = self.spend
        self._base = (list(self._usage), self.seconds_in, self.seconds_out)
        self.prices = prices

    def crossing(self, config: SessionConfig) -> None:
        """Audio crosses to and from the provider as ``config`` says from now on."""
        self.input_rate = config.input_sample_rate
        self.output_rate = config.output_sample_rate
        self.input_width = 2 if config.input_encoding == "pcm16" else 1
        self.output_width = 2 if config.output_encoding == "pcm16" else 1

    def audio_in(self, size: int) -> None:
        """``size`` bytes of audio went to the provider, at ``input_rate``."""
        self.seconds_in += size / self.input_width / self.input_rate

    def audio_out(self, size: int) -> None:
        """``size`` bytes of audio came from the provider, at ``output_rate``."""
        self.seconds_out += size / self.output_width / self.output_rate

    @property
    def spend(self) -> float:
        counts, seconds_in, seconds_out = self._base
        since = _usage([now - then for now, then in zip(self._usage, counts, strict=True)])
        return self._banked + cost(
            since,
            self.prices,
            seconds_in=self.seconds_in - seconds_in,
            seconds_out=self.seconds_out - seconds_out,
        )

    def over_budget(self) -> bool:
        return self.budget_left is not None and self.spend >= self.budget_left

    def over_tokens_per_minute(self) -> bool:
        """Whether this minute's tokens reached the key's ``tpm_limit`` (checked right
        after a response's usage was added, so "this minute" is the one it was counted in)."""
        return self.tokens_per_minute is not None and self.minute_tokens >= self.tokens_per_minute

    def record(
        self,
        *,
        key_hash: str | None,
        key_alias: str | None,
        model: str,
        model_group: str,
        deployment: str,
        end_reason: str,
        provider: str = "",
    ) -> SessionRecord:
        return SessionRecord(
            request_id=self.request_id,
            key_hash=key_hash,
            key_alias=key_alias,
            model=model,
            model_group=model_group,
            deployment=deployment,
            start_time=self.started,
            end_time=datetime.datetime.now(datetime.UTC),
            end_reason=end_reason,
            audio_seconds_in=self.seconds_in,
            audio_seconds_out=self.seconds_out,
            usage=self.usage,
            spend=self.spend,
            responses=tuple(self._responses),
            provider=provider,
            mcp_calls=tuple(
                McpCallsRecord(
                    server_label=label,
                    calls=int(calls),
                    failed=int(failed),
                    seconds=seconds,
                    output_bytes=int(size),
                )
                for label, (calls, failed, seconds, size) in self._mcp.items()
            ),
        )


def mcp_metadata(record: SessionRecord) -> dict[str, Any]:
    """The session's MCP calls as its spend-log row's metadata holds them (nothing for a
    session that made none): ``mcp_calls``, per server label."""
    if not record.mcp_calls:
        return {}
    return {
        "mcp_calls": {
            c.server_label: {
                "calls": c.calls,
                "failed": c.failed,
                "seconds": round(c.seconds, 3),
                "output_bytes": c.output_bytes,
            }
            for c in record.mcp_calls
        }
    }


def _minute_of(when: datetime.datetime) -> datetime.datetime:
    return when.replace(second=0, microsecond=0)


def _usage(u: list[int]) -> Usage:
    return Usage(
        input_text_tokens=u[0],
        input_audio_tokens=u[1],
        output_text_tokens=u[2],
        output_audio_tokens=u[3],
        cached_tokens=u[4],
        cached_audio_tokens=u[5],
    )
