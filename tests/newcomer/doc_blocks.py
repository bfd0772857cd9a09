"""The commands README.md and docs/*.md show: every shell block (``bash``, ``sh``,
``shell``, ``console``, or a block with no language) is read, its commands split out
(continuation lines joined, ``$ `` prompts of a console block and the output under them
told apart), and those that run rtcore picked: ``rtcore`` (or a path to it) where a command
starts, after any ``NAME=value`` it is given (``GEMINI_API_KEY=... rtcore serve``), or
``make serve`` / ``make test``, or the benchmark (``python -m bench``), which runs
``rtcore serve``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SHELL = frozenset({"bash", "sh", "shell", "console", ""})
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
# rtcore where a command starts: at the line's start or after a pipe, ;, && or $( , after
# the variables set for it.
RUNS_RTCORE = re.compile(
    r"(?:^|[|;&(]\s*)(?:[A-Za-z_]\w*=\S*\s+)*(?:\S*/)?rtcore(?:\s|$)"
    r"|^make (?:serve|test)\b|^python -m bench\b"
)


@dataclass(frozen=True)
class Command:
    """One command a page shows: where (``README.md:51``), the command as a reader copies
    it, what a console block shows it printing, and the text of the page before it."""

    page: str
    line: int
    text: str
    output: tuple[str, ...]
    before: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def _strip_comment(line: str) -> str:
    """The line without a trailing ``# comment`` (outside quotes)."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def _shell_commands(body: str) -> list[tuple[int, str]]:
    """(offset of the first line, command) for each command of a bash block; a line ending
    in a backslash, or one starting with a pipe, continues the command before it."""
    commands: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for offset, raw in enumerate(body.splitlines()):
        line = _strip_comment(raw)
        if not line.strip():
            continue
        if pending and (pending[-1].endswith("\\") or line.lstrip().startswith("|")):
            pending.append(line)
            continue
        if pending:
            commands.append((start, "\n".join(pending)))
        pending, start = [line], offset
    if pending:
        commands.append((start, "\n".join(pending)))
    return commands


def _console_commands(body: str) -> list[tuple[int, str, tuple[str, ...]]]:
    """(offset, command, output) for each ``$ `` line of a console block."""
    found: list[tuple[int, str, tuple[str, ...]]] = []
    for offset, line in enumerate(body.splitlines()):
        if line.startswith("$ "):
            found.append((offset, _strip_comment(line[2:]), ()))
        elif found:
            at, command, output = found[-1]
            found[-1] = (at, command, (*output, line))
    return found


def commands(root: Path) -> list[Command]:
    """Every command README.md and docs/**/*.md show that runs rtcore, in page order."""
    pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    found: list[Command] = []
    for path in pages:
        text = path.read_text(encoding="utf-8")
        page = str(path.relative_to(root))
        for block in FENCE.finditer(text):
            language, body = block.group(1), block.group(2)
            if language not in SHELL:
                continue
            first = text[: block.start()].count("\n") + 2  # the line after the fence
            listed = (
                _console_commands(body)
                if language == "console"
                else [(at, command, ()) for at, command in _shell_commands(body)]
            )
            for offset, command, output in listed:
                if any(RUNS_RTCORE.search(part.strip()) for part in command.splitlines()):
                    found.append(
                        Command(page, first + offset, command, output, text[: block.start()])
                    )
    return found


def config_before(command: Command, root: Path) -> str:
    """The config a command's ``config.yaml`` is: the last YAML block holding a
    ``model_list`` above it on its page, else the README's (the seed's)."""
    for text in (command.before, (root / "README.md").read_text(encoding="utf-8")):
        configs = [
            block.group(2)
            for block in FENCE.finditer(text)
            if block.group(1) == "yaml" and block.group(2).startswith("model_list:")
        ]
        if configs:
            return configs[-1] if text is command.before else configs[0]
    raise AssertionError(f"{command.where}: no config.yaml shown before it")
