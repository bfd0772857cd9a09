"""Suite-wide: every rtcore the tests start keeps its data (the key store's SQLite file)
in a directory of this run, never in the user's home; and the fast run.

A plain ``pytest`` is the fast run: the test files listed in tests/full_only.txt (browsers,
servers started as processes, packaging, fault matrices) are left out. ``pytest --full``
(what ``make test`` and CI run) runs everything; so does naming files or folders on the
command line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from _pytest.config import Config

from tests.postgres_server import postgres, postgres_cluster  # noqa: F401  (PostgreSQL)


@pytest.fixture(scope="session", autouse=True)
def data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("data-home")
    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(path)
    yield path
    if before is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = before


FULL_ONLY = Path(__file__).with_name("full_only.txt")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        help="run the whole suite, with the files tests/full_only.txt keeps out of the fast run",
    )


def full_only() -> set[str]:
    """The test files (paths from the repository's root) only the full run runs."""
    lines = (line.split("#", 1)[0].strip() for line in FULL_ONLY.read_text().splitlines())
    return {line for line in lines if line}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--full") or config.args_source is not Config.ArgsSource.TESTPATHS:
        return
    root = config.rootpath
    slow = full_only()
    kept, left = [], []
    for item in items:
        (left if item.path.relative_to(root).as_posix() in slow else kept).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
