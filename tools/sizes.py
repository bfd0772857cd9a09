"""Module and function sizes in the code (core/, providers/, transports/, sinks/; tests
excepted): every module over 450 lines and every function over 60, largest first.

``python tools/sizes.py`` prints them and exits 1 when any is over its limit and not in
``tools/size_debt.txt``, or larger than that file records; tests/core/test_sizes.py runs it.
The debt file lists what is still too large, each at its size when listed: it may only
shrink.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("core", "providers", "transports", "sinks")
MODULE_LINES = 450
FUNCTION_LINES = 60
DEBT = ROOT / "tools" / "size_debt.txt"


def sources() -> Iterator[Path]:
    for room in ROOMS:
        for path in sorted((ROOT / room).rglob("*.py")):
            if "tests" not in path.relative_to(ROOT).parts:
                yield path


def measure() -> dict[str, int]:
    """Each module over its limit (by path) and each function over its limit (by
    ``path::Qualified.name``), with its lines."""
    out: dict[str, int] = {}
    for path in sources():
        text = path.read_text()
        name = path.relative_to(ROOT).as_posix()
        lines = len(text.splitlines())
        if lines > MODULE_LINES:
            out[name] = lines
        for qualname, size in _functions(ast.parse(text)):
            if size > FUNCTION_LINES:
                out[f"{name}::{qualname}"] = size
    return out


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            yield prefix + node.name, (node.end_lineno or node.lineno) - first + 1
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")


def debt() -> dict[str, int]:
    recorded: dict[str, int] = {}
    for line in DEBT.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            size, name = line.split(maxsplit=1)
            recorded[name] = int(size)
    return recorded


def problems(found: dict[str, int], recorded: dict[str, int]) -> list[str]:
    """What breaks the limits beyond the recorded debt: new offenders, and debts grown."""
    out = []
    for name, size in sorted(found.items()):
        if name not in recorded:
            out.append(f"{name}: {size} lines (limit {_limit(name)})")
        elif size > recorded[name]:
            out.append(f"{name}: {size} lines, grown from {recorded[name]}")
    return out


def _limit(name: str) -> int:
    return FUNCTION_LINES if "::" in name else MODULE_LINES


def main(argv: list[str]) -> int:
    found = measure()
    if argv[1:] == ["--record"]:
        DEBT.write_text(
            "# Modules over 450 lines and functions over 60 still to split (tools/sizes.py):\n"
            "# lines, then where. An entry may only shrink; remove it when it fits.\n"
            + "".join(f"{size} {name}\n" for name, size in sorted(found.items()))
        )
        return 0
    for name, size in sorted(found.items(), key=lambda kv: -kv[1]):
        print(f"{size:5d} {name}")
    recorded = debt()
    print(
        f"{sum('::' not in n for n in found)} modules over {MODULE_LINES} lines, "
        f"{sum('::' in n for n in found)} functions over {FUNCTION_LINES}"
    )
    paid = sorted(set(recorded) - set(found))
    if paid:
        print("no longer over the limit (remove from the debt file):", *paid, sep="\n  ")
    bad = problems(found, recorded)
    for line in bad:
        print("over the limit:", line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
