"""What every session of one configured model shares."""

from __future__ import annotations

import msgspec

from rtcore_gemini_live.client import GenaiClient
from rtcore_gemini_live.models import ModelProfile
from rtcore_gemini_live.params import SessionOptions


class Upstream(msgspec.Struct, kw_only=True):
    client: GenaiClient
    profile: ModelProfile
    options: SessionOptions
