"""What every session of one configured model shares."""

from __future__ import annotations

from typing import Any

import msgspec

from rtcore_openai_realtime.models import Profile, Vendor
from rtcore_openai_realtime.params import SessionOptions


class Shared(msgspec.Struct, kw_only=True):
    vendor: Vendor
    client: Any  # the openai SDK's AsyncOpenAI / AsyncAzureOpenAI
    profile: Profile
    options: SessionOptions
