"""Every config file README.md and docs/*.md show (a YAML block holding a ``model_list``)
loads as shown: no error, and no key rtcore would name as not applied."""

from __future__ import annotations

import logging

import pytest
import yaml

from rtcore.config import parse_config
from rtcore.plugins import load_plugins
from tests.newcomer.conftest import ROOT
from tests.newcomer.doc_blocks import FENCE

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
CONFIGS = [
    (f"{page.relative_to(ROOT)}:{page.read_text()[: block.start()].count(chr(10)) + 1}", body)
    for page in PAGES
    for block in FENCE.finditer(page.read_text())
    if block.group(1) == "yaml" and "model_list:" in (body := block.group(2))
]


def test_the_pages_show_configs() -> None:
    assert len(CONFIGS) >= 3, CONFIGS


@pytest.mark.parametrize("body", [body for _, body in CONFIGS], ids=[w for w, _ in CONFIGS])
def test_a_config_shown_loads_as_shown(
    body: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the pages say to export.
    monkeypatch.setenv("RTCORE_MASTER_KEY", "sk-1234")
    monkeypatch.setenv("GEMINI_API_KEY", "a-key-from-ai-studio")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-from-the-openai-dashboard")
    monkeypatch.setenv("WEATHER_MCP_TOKEN", "an-mcp-servers-token")
    with caplog.at_level(logging.INFO):
        loaded = parse_config(yaml.safe_load(body), load_plugins().providers(), "config.yaml")
    assert loaded.models
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
