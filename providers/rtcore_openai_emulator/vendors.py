"""The three vendor profiles one emulator serves, told apart by path (and, on ``/v1``, by the
model's name): how each authenticates, which models it knows and how it refuses.

Paths (reference §1, §3.8):
- OpenAI: ``/v1/realtime?model=M``, ``Authorization: Bearer``.
- Azure OpenAI GA: ``/openai/v1/realtime?model=<deployment>``, ``api-key`` or ``Bearer``;
  the retired preview form ``/openai/realtime?api-version=V&deployment=D``.
- xAI: ``/xai/v1/realtime?model=M`` (the emulator's prefix for ``api.x.ai``'s ``/v1``), or
  ``/v1/realtime`` with a ``grok-voice-*`` model.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Vendor(StrEnum):
    OPENAI = "openai"
    AZURE = "azure"
    XAI = "xai"


# Realtime models each vendor serves (reference §2, models row).
OPENAI_MODELS = frozenset(
    {
        "gpt-realtime",
        "gpt-realtime-2025-08-28",
        "gpt-realtime-1.5",
        "gpt-realtime-2",
        "gpt-realtime-2.1",
        "gpt-realtime-2.1-mini",
        "gpt-realtime-mini",
        "gpt-realtime-mini-2025-10-06",
        "gpt-realtime-mini-2025-12-15",
        "gpt-4o-realtime-preview",
        "gpt-4o-realtime-preview-2024-10-01",
        "gpt-4o-realtime-preview-2024-12-17",
        "gpt-4o-realtime-preview-2025-06-03",
        "gpt-4o-mini-realtime-preview",
        "gpt-4o-mini-realtime-preview-2024-12-17",
    }
)
# Azure serves deployments; a deployment named after one of these models is known, others
# are given by the emulator's ``deployments``.
AZURE_MODELS = frozenset(
    {
        "gpt-realtime",
        "gpt-realtime-mini",
        "gpt-realtime-1.5",
        "gpt-4o-realtime-preview",
        "gpt-4o-mini-realtime-preview",
    }
)
XAI_MODELS = frozenset(
    {"grok-voice-think-fast-1.0", "grok-voice-think-fast-2.0", "grok-voice-latest"}
)
XAI_PREFIX = "grok-voice-"


@dataclass(frozen=True, slots=True)
class Route:
    vendor: Vendor
    # The retired Azure preview path (``api-version`` and ``deployment`` in the query).
    preview: bool = False


def route_of(path: str, model: str | None) -> Route | None:
    path = path.rstrip("/")
    if path == "/v1/realtime":
        if model is not None and model.startswith(XAI_PREFIX):
            return Route(Vendor.XAI)
        return Route(Vendor.OPENAI)
    if path == "/openai/v1/realtime":
        return Route(Vendor.AZURE)
    if path == "/openai/realtime":
        return Route(Vendor.AZURE, preview=True)
    if path == "/xai/v1/realtime":
        return Route(Vendor.XAI)
    return None


def known_model(vendor: Vendor, model: str, deployments: dict[str, str]) -> str | None:
    """The model a name resolves to on ``vendor``, or None when the vendor serves no such
    realtime model (an Azure deployment resolves to the model it deploys)."""
    if vendor is Vendor.OPENAI:
        return model if model in OPENAI_MODELS else None
    if vendor is Vendor.AZURE:
        if model in deployments:
            return deployments[model]
        return model if model in AZURE_MODELS else None
    return model if model in XAI_MODELS else None


def credential(vendor: Vendor, headers: dict[str, str]) -> str | None:
    """The key or token a connection presents, as the vendor reads it (reference §1)."""
    if vendor is Vendor.AZURE and headers.get("api-key"):
        return headers["api-key"]
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None
