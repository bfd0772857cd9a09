"""The house's rules, read from every import statement in the code (inside functions and
``TYPE_CHECKING`` blocks too): the core knows no provider, transport or sink; the kit depends
on nothing of the core's session or telemetry, directly or through another core module;
providers, transports and sinks never import each other; emulators import nothing of rtcore
or of the providers they stand in for, and share only what imports nothing of rtcore either
(the emulated speech, the emulator kit)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core" / "rtcore"

# The packages of each room beside the core, as the folders hold them.
PROVIDERS = sorted(p.name for p in (ROOT / "providers").iterdir() if p.is_dir())
TRANSPORTS = sorted(p.name for p in (ROOT / "transports").iterdir() if p.is_dir())
SINKS = sorted(p.name for p in (ROOT / "sinks").iterdir() if p.is_dir())
EMULATORS = [p for p in PROVIDERS if p.endswith("_emulator")]
# What the emulators share, never with rtcore: the speech-like audio they hear as turns, and
# their scaffolding (local CA, command line, fault grammar, server lifecycle).
EMULATOR_SHARED = ("rtcore_emulated_speech", "rtcore_emulator_kit")
PLUGINS = [p for p in PROVIDERS if p not in EMULATORS and p not in EMULATOR_SHARED]
# An emulator's modules that register it with rtcore, and only they.
SHIMS = {"plugin", "in_process"}


def _packages() -> dict[str, Path]:
    rooms = {"providers": PROVIDERS, "transports": TRANSPORTS, "sinks": SINKS}
    out = {name: ROOT / room / name for room, names in rooms.items() for name in names}
    out["rtcore"] = CORE
    return out


def _module_name(path: Path, package: str, folder: Path) -> str:
    parts = [package, *path.relative_to(folder).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> Iterator[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            yield stem
            # ``from rtcore.kit import stream_listeners`` may name a submodule.
            yield from (f"{stem}.{alias.name}" for alias in node.names)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for package, folder in _packages().items():
        for path in folder.rglob("*.py"):
            if "tests" in path.relative_to(folder).parts:
                continue
            module = _module_name(path, package, folder)
            graph[module] = set(_imports(path, module))
    return graph


GRAPH = _graph()


def _top(name: str) -> str:
    return name.partition(".")[0]


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _known(name: str) -> str | None:
    """The module of the code's own that an import names (or the package it is in)."""
    while name:
        if name in GRAPH:
            return name
        name = name.rpartition(".")[0]
    return None


def _reach(start: str) -> set[str]:
    """Every module of the code's own that ``start`` depends on, through any chain."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for name in GRAPH[todo.pop()]:
            target = _known(name)
            if target is not None and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _violations(modules: list[str], forbidden: list[str]) -> list[str]:
    return sorted(
        f"{module} imports {name}"
        for module in modules
        for name in GRAPH[module]
        if any(_within(name, bad) for bad in forbidden)
    )


def _modules_of(package: str) -> list[str]:
    return sorted(m for m in GRAPH if _top(m) == package)


def test_the_graph_is_read() -> None:
    # The rules below would hold vacuously over an empty graph.
    assert len(_modules_of("rtcore")) > 50
    assert {"rtcore_bedrock_sonic", "rtcore_gemini_live", "rtcore_openai_realtime"} <= set(PLUGINS)
    assert {"rtcore_websocket", "rtcore_stdio", "rtcore_webrtc"} <= set(TRANSPORTS)
    assert "rtcore.kit.upstream.supervisor" in _reach("rtcore.kit")
    assert "rtcore.session.machine" in _reach("rtcore.connection")


def test_the_core_imports_no_provider_transport_or_sink() -> None:
    assert _violations(_modules_of("rtcore"), PROVIDERS + TRANSPORTS + SINKS) == []


# rtcore.audio: its codecs, for the speech measure of the G.711 a provider passes through.
KIT_MAY_REACH = ("rtcore.kit", "rtcore.provider", "rtcore.ids", "rtcore.audio")


def test_the_kit_depends_on_nothing_of_the_session_or_telemetry() -> None:
    kit = [m for m in GRAPH if _within(m, "rtcore.kit")]
    reached = set().union(*(_reach(m) for m in kit))
    outside = sorted(
        m for m in reached if not any(_within(m, ok) for ok in KIT_MAY_REACH) and m != "rtcore"
    )
    assert outside == []


@pytest.mark.parametrize("package", PLUGINS + TRANSPORTS + SINKS)
def test_plugins_never_import_each_other(package: str) -> None:
    others = [p for p in PROVIDERS + TRANSPORTS + SINKS if p != package]
    assert _violations(_modules_of(package), others) == []


@pytest.mark.parametrize("package", [*EMULATORS, *EMULATOR_SHARED])
def test_emulators_depend_on_nothing_of_rtcore(package: str) -> None:
    # A double that shares code with what it tests proves nothing. Each emulator registers
    # with rtcore (``rtcore emulator``, ``--emulator``) through a shim of two modules that
    # nothing else in it imports; everything it reaches from anywhere else is its own.
    modules = [m for m in _modules_of(package) if m.rpartition(".")[2] not in SHIMS]
    reached = set(modules).union(*(_reach(m) for m in modules))
    foreign = sorted(m for m in reached if _top(m) not in {package, *EMULATOR_SHARED})
    assert modules
    assert foreign == []


@pytest.mark.parametrize("package", EMULATORS)
def test_an_emulator_shim_imports_no_provider(package: str) -> None:
    shims = [m for m in _modules_of(package) if m.rpartition(".")[2] in SHIMS]
    assert shims
    assert _violations(shims, PLUGINS + TRANSPORTS + SINKS) == []


PACKAGES = {
    _module_name(path, package, folder)
    for package, folder in _packages().items()
    for path in folder.rglob("__init__.py")
}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Modules that import each other in a loop (Tarjan's strongly connected components),
    each loop's modules sorted. A package's ``__init__`` only hands names on: imports of
    it are not followed, as a reader of the code would not."""
    edges = {
        m: sorted(t for t in targets if t in graph and t not in PACKAGES and t != m)
        for m, targets in graph.items()
        if m not in PACKAGES
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_module_imports_itself_through_others() -> None:
    # Type-only imports count: a loop of them still means neither module can be read, moved
    # or tested without the other.
    assert _circles(GRAPH) == []


def test_a_loop_of_imports_is_found() -> None:
    graph = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}}
    assert _circles(graph) == [["a.x", "a.y", "a.z"]]
