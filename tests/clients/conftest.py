"""Real clients against a real ``rtcore serve``, each on every provider upstream.

``UPSTREAMS`` is the one parametrization: every client test that talks to a provider takes
its server from ``serve_upstream`` with the ``upstream`` fixture, and asserts what the
upstream's emulator says, as its ``Upstream`` describes it. The emulators follow the same
script conventions (a sine at 400 + 100·N Hz is heard as utterance N, other speech as one
fixed line, a turn is answered "You said: <what was said>", a question that matches a tool's
description calls it and the answer quotes the tool's result), so the same assertions hold on
each. The ``served`` fixture is the ``echo`` test model, for the tests of the core itself.

The ``failover`` upstream is a model name whose first deployment fails for good in every
session, just after the session is set up on it: each session moves to the deployment its
``router_settings.fallbacks`` name (another provider), and the test asserts that it did.

A server is started once per test module and upstream (module-scoped fixtures), not once
per test.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from rtcore_emulated_speech import DEFAULT_UTTERANCES, UNRECOGNISED, default_reply
from rtcore_emulated_speech import speech_seconds as emulated_speech_seconds
from rtcore_openai_emulator.server import OpenAIRealtimeEmulator
from rtcore_openai_emulator.stats import SessionUpdate
from tests.core.test_sdk_shapes import BETA, GA
from tests.transports.process import RTCORE, START_SECONDS, Served


def validate(event: dict[str, Any], dialect: str) -> None:
    """Raises when the event is not a server event of ``dialect`` or lacks a required
    field, as a strict client would. The SDK's own connection parses leniently (it never
    complains), so this is done on the raw JSON with the SDK's pydantic model for the
    event's type."""
    models = GA if dialect == "ga" else BETA
    assert event["type"] in models, f"{event['type']} is not a {dialect} server event"
    if dialect == "beta" and event["type"].startswith("session."):
        # The beta models enumerate OpenAI's own model names; the beta SDK parses leniently
        # and accepts any name. Everything else is checked (as in tests/core).
        event = {**event, "session": {**event["session"], "model": None}}
    models[event["type"]].model_validate(event)


@dataclass(frozen=True)
class Upstream:
    """A provider upstream the clients are run on, and what its emulator says back."""

    id: str
    # The config entry's ``litellm_params.model`` (the provider is chosen by its prefix).
    model: str
    # How its emulator runs: "config" (a ``rtcore emulator`` process of the test's, which
    # the config entry points at), "serve" (``rtcore serve --emulator``, in-process) or
    # "failover" (a failing OpenAI deployment, falling back to Nova 2 on a ``rtcore
    # emulator`` process: the replies are Nova 2's).
    emulator: str
    # "serve" upstreams of one protocol family share a config (and so a server): one
    # in-process emulator answers them all, as for a user who configures them together.
    family: str = ""
    # Other ``litellm_params`` / ``model_info`` of the entry.
    params: tuple[tuple[str, object], ...] = ()
    info: tuple[tuple[str, object], ...] = ()
    # Seconds of the emulator's voice for a reply's text (a played reply is checked whole).
    speech_seconds: Callable[[str], float] = emulated_speech_seconds
    # Seconds of quiet after which the emulator ends a spoken turn (at most).
    turn_end_seconds: float = 2.0
    # Session settings the provider refuses for this vendor (a clear ``error`` naming the
    # setting), each with that error's message: a client whose defaults send one cannot
    # run here unmodified, and its tests (marked ``client_sends(setting)``) are skipped.
    refuses: tuple[tuple[str, str], ...] = ()
    # Whether ``response.done`` counts tokens (xAI bills by the audio minute and reports
    # no usage: rtcore's usage is then all zeros).
    token_usage: bool = True

    @property
    def name(self) -> str:
        """The config entry's name, which clients ask for."""
        return self.id

    def heard(self, slot: int | None) -> str:
        """The transcript of utterance ``slot`` (a tone of ``utterance_pcm(slot)``), or of
        any other speech (``None``: the browsers' fake microphone)."""
        return UNRECOGNISED if slot is None else DEFAULT_UTTERANCES[slot]

    def reply(self, said: str) -> str:
        """The answer to a turn that said ``said`` (typed or spoken)."""
        return default_reply(said)

    def __str__(self) -> str:
        return self.id


NOVA_V1 = Upstream(
    "nova-v1",
    "bedrock/amazon.nova-sonic-v1:0",
    "config",
    # v1 is retired: the clients' v1 runs are the legacy path, v1 served as written by an
    # emulator that still serves it (``--legacy-models``).
    info=(("use_successor", False),),
    turn_end_seconds=1.5,
)
NOVA_2 = Upstream("nova-2", "bedrock/amazon.nova-2-sonic-v1:0", "config")
# Gemini Live on the Gemini API and on Vertex AI: ``rtcore serve --emulator`` answers both
# from its in-process emulator, with no Google account.
GEMINI = Upstream("gemini", "gemini/gemini-3.8-live", "serve", "gemini")
VERTEX = Upstream(
    "vertex",
    "vertex_ai/gemini-live-2.5-flash-native-audio",
    "serve",
    "gemini",
    params=(("vertex_project", "rtcore-clients"), ("vertex_location", "us-central1")),
)
# The OpenAI-protocol vendors, all three from the in-process OpenAI Realtime emulator (its
# profile for each vendor; the Azure deployment created on it).
OPENAI = Upstream("openai", "openai/gpt-realtime-2", "serve", "openai")
AZURE = Upstream(
    "azure",
    "azure/clients-realtime",
    "serve",
    "openai",
    info=(("base_model", "gpt-realtime"),),
)
XAI = Upstream(
    "xai",
    "xai/grok-voice-think-fast-1.0",
    "serve",
    "openai",
    refuses=(
        (
            "create_response: false",
            "This model cannot take turn_detection.create_response: "
            "it answers every turn it detects.",
        ),
    ),
    token_usage=False,
)
# The model name ``failover``: its deployment on OpenAI (an emulator of the test's) loses
# every session for good once it is set up (the connection cut, the reconnect refused with
# close 4000), and ``router_settings.fallbacks`` sends the session on to Nova 2.
FAILOVER = Upstream("failover", "openai/gpt-realtime-2", "failover")
FALLBACK = NOVA_2
# Every upstream; CURRENT leaves out the legacy one (for the clients that never ran on it).
UPSTREAMS = [NOVA_V1, NOVA_2, GEMINI, VERTEX, OPENAI, AZURE, XAI, FAILOVER]
CURRENT = [u for u in UPSTREAMS if u is not NOVA_V1]


def skip_refused(upstream: Upstream, node: pytest.Item | pytest.Collector) -> None:
    """Skips when ``node`` is marked ``client_sends(setting, client)`` (the client sends
    ``setting``, by default or as the test asks) and the upstream's provider refuses it."""
    refused = dict(upstream.refuses)
    for mark in node.iter_markers("client_sends"):
        setting, client = mark.args
        if setting in refused:
            pytest.skip(
                f"{client} sends {setting}, which {upstream.id} has not: "
                f"the provider refuses it ({refused[setting]!r})"
            )


@pytest.fixture(scope="module", params=UPSTREAMS, ids=str)
def upstream(request: pytest.FixtureRequest) -> Upstream:
    up: Upstream = request.param
    # A module marked whole is skipped before its server starts.
    skip_refused(up, request.node)
    return up


@pytest.fixture(autouse=True)
def refused_defaults(request: pytest.FixtureRequest) -> None:
    """A test marked ``client_sends`` on an upstream that refuses the setting is skipped."""
    if "upstream" in request.fixturenames:
        skip_refused(request.getfixturevalue("upstream"), request.node)


# The server's line for each session moved off the failing deployment (see
# ``failing_openai``): a failover, after the close 4000 that refused the reconnect.
MOVED = re.compile(
    r"session moved from failover-openai \(openai-realtime\) to failover-nova "
    r"\(bedrock-sonic\) in [0-9.]+ s \(failover after model_not_found: "
)
# Servers of the ``failover`` upstream now running, whose tests must each see a move.
FAILING_OVER: list[Served] = []
# A safety net only: a move is logged within a second of the session's start.
MOVE_SECONDS = 30.0


def moves(served: Served) -> int:
    return len(MOVED.findall(served.stderr))


@pytest.fixture(autouse=True)
def moved_off(request: pytest.FixtureRequest) -> Iterator[None]:
    """On the ``failover`` upstream, every test's session moves to the fallback: the test
    fails unless the server logged another move while it ran."""
    failing = "upstream" in request.fixturenames and (
        request.getfixturevalue("upstream") is FAILOVER
    )
    before = [(served, moves(served)) for served in FAILING_OVER] if failing else []
    yield
    if not failing:
        return
    if not before:
        before = [(served, 0) for served in FAILING_OVER]
    deadline = time.monotonic() + MOVE_SECONDS
    while not any(moves(served) > seen for served, seen in before):
        if time.monotonic() > deadline:
            logs = "".join(served.stderr for served, _ in before)
            raise AssertionError("no session moved off the failing deployment:\n" + logs)
        time.sleep(0.05)


@contextmanager
def nova_emulator(where: Path) -> Iterator[tuple[str, str]]:
    """``rtcore emulator`` (the Nova Sonic one) in a process of its own, unpaced, serving
    the retired v1 too; yields its endpoint and CA file."""
    proc = subprocess.Popen(
        [
            RTCORE,
            "emulator",
            "--port",
            "0",
            "--realtime-factor",
            "0",
            "--legacy-models",
            "--cert-dir",
            str(where / "certs"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    found: dict[str, str] = {}
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            key, _, value = line.partition(":")
            found[key.strip()] = value.strip()
            if "endpoint" in found and "ca file" in found:
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # A safety net only: the emulator makes its CA and certificate on first start.
        if not ready.wait(START_SECONDS) or "ca file" not in found:
            raise AssertionError("the emulator did not start: " + str(found))
        yield found["endpoint"], found["ca file"]
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        reader.join(5)
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.close()
        with proc.stderr:
            err = proc.stderr.read()
        assert "Traceback" not in err, err


class _CutAtSetUp(list[SessionUpdate]):
    """The emulator's record of the ``session.update`` events it takes, which cuts each
    connection at its first one, before the emulator acts on it: the reconnect that
    follows is refused with close 4000 (the fault ``close=4000@0``)."""

    def __init__(self, emulator: OpenAIRealtimeEmulator) -> None:
        super().__init__()
        self._emulator = emulator
        self._cut: set[int] = set()

    def append(self, update: SessionUpdate) -> None:
        super().append(update)
        if update.connection not in self._cut:
            self._cut.add(update.connection)
            self._emulator.inject("close=4000@0")
            self._emulator.drop_connections()


@contextmanager
def failing_openai() -> Iterator[str]:
    """The OpenAI Realtime emulator on a thread of the test's, every session of which is
    lost for good as soon as the provider has set it up: the connection is cut at its
    first ``session.update`` (as a network failure would cut it), and the provider's
    reconnect is closed with 4000 as it opens, OpenAI's close for a model it will not
    serve. Yields its ``api_base``."""
    started = threading.Event()
    found: dict[str, str] = {}
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def serve() -> None:
        stop = asyncio.Event()
        async with OpenAIRealtimeEmulator(realtime_factor=0) as emulator:
            emulator.stats.session_updates = _CutAtSetUp(emulator)
            running.append((asyncio.get_running_loop(), stop))
            found["api_base"] = emulator.url_for("openai")
            started.set()
            await stop.wait()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    try:
        if not started.wait(START_SECONDS):
            raise AssertionError("the OpenAI emulator did not start")
        yield found["api_base"]
    finally:
        for loop, stop in running:
            loop.call_soon_threadsafe(stop.set)
        thread.join(15)


def nova_params(endpoint: str, ca_file: str) -> dict[str, object]:
    """The Bedrock provider pointed at the emulator by its config options
    (docs/providers/bedrock-sonic.md)."""
    return {
        "api_base": endpoint,
        "ssl_ca_file": ca_file,
        "aws_access_key_id": "AKIDCLIENTTEST",
        "aws_secret_access_key": "client-test-secret",
        "aws_region_name": "us-east-1",
    }


def entry(upstream: Upstream, **params: object) -> dict[str, object]:
    return {
        "model_name": upstream.name,
        "litellm_params": {"model": upstream.model, **dict(upstream.params), **params},
        "model_info": {"mode": "realtime", **dict(upstream.info)},
    }


def write_config(
    path: Path,
    entries: list[dict[str, object]],
    routing: dict[str, object] | None = None,
    extra: dict[str, object] | None = None,
) -> Path:
    """``extra``: other top-level sections (``mcp_servers``, ``general_settings``)."""
    config: dict[str, object] = {"model_list": entries, **(extra or {})}
    if routing is not None:
        config["router_settings"] = routing
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def serve_upstream(
    upstream: Upstream,
    where: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    sections: dict[str, object] | None = None,
) -> Iterator[Served]:
    """``rtcore serve --config`` serving ``upstream.name``, its emulator running as the
    upstream says: a config entry pointed at an emulator process of the test's, alone; or
    every upstream of its family served with ``--emulator`` in one config, as users write it. The
    server's log must hold no traceback."""
    where.mkdir(parents=True, exist_ok=True)
    config = where / "config.yaml"
    if upstream.emulator == "config":
        with nova_emulator(where) as (endpoint, ca_file):
            write_config(
                config, [entry(upstream, **nova_params(endpoint, ca_file))], extra=sections
            )
            with Served("--config", str(config), *extra, env=env) as served:
                yield served
    elif upstream.emulator == "failover":
        with failing_openai() as api_base, nova_emulator(where) as (endpoint, ca_file):
            primary = entry(upstream, api_base=api_base, api_key="sk-failover-client-test")
            primary["model_info"] = {"mode": "realtime", "id": "failover-openai"}
            fallback = entry(FALLBACK, **nova_params(endpoint, ca_file))
            fallback["model_name"] = "failover-nova"
            fallback["model_info"] = {"mode": "realtime", "id": "failover-nova"}
            # No cooldown: every session tries the failing deployment first.
            routing = {"fallbacks": [{upstream.name: ["failover-nova"]}], "cooldown_time": 0}
            write_config(config, [primary, fallback], routing)
            with Served("--config", str(config), *extra, env=env) as served:
                FAILING_OVER.append(served)
                try:
                    yield served
                finally:
                    FAILING_OVER.remove(served)
            assert moves(served) >= 1, served.stderr
    else:
        family = [u for u in UPSTREAMS if u.emulator == "serve" and u.family == upstream.family]
        write_config(config, [entry(u) for u in family], extra=sections)
        # The emulator's certificate is kept in this run's cache, not the user's.
        env = {"XDG_CACHE_HOME": str(where / "cache"), **(env or {})}
        with Served("--config", str(config), "--emulator", *extra, env=env) as served:
            yield served
    assert "Traceback" not in served.stderr, served.stderr


@pytest.fixture(scope="module")
def served_upstream(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """``rtcore serve`` for ``upstream``, shared by the module's tests on it."""
    with serve_upstream(upstream, tmp_path_factory.mktemp(f"serve-{upstream.id}")) as served:
        yield served


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with Served("--provider", "echo") as server:
        yield server
    assert "Traceback" not in server.stderr, server.stderr
