"""The Nova Sonic models rtcore knows, and what differs between them.

Model ids may carry a cross-region inference-profile prefix (``us.``, ``eu.``, ``apac.``,
``global.``, ...): the profile decides routing, the base id decides behaviour.
"""

from __future__ import annotations

import datetime
from typing import Literal

import msgspec

from rtcore.provider import Prices

V1_ID = "amazon.nova-sonic-v1:0"
V2_ID = "amazon.nova-2-sonic-v1:0"
# AWS spells Nova 2.5 Sonic's id without a version suffix (docs/providers/bedrock-sonic.md
# cites where).
V2_5_ID = "amazon.nova-2-5-sonic"

# The voices each model really has (the AWS model cards); Polly-only names such as
# "joanna" or "ruth" are rejected up front with this list rather than failing upstream.
_V1_VOICES = (
    "matthew",
    "tiffany",
    "amy",
    "ambre",
    "florian",
    "beatrice",
    "lorenzo",
    "greta",
    "lennart",
    "lupe",
    "carlos",
)
_V2_VOICES = (
    "matthew",
    "tiffany",
    "amy",
    "olivia",
    "kiara",
    "arjun",
    "ambre",
    "florian",
    "beatrice",
    "lorenzo",
    "tina",
    "lennart",
    "lupe",
    "carlos",
    "carolina",
    "leo",
)

SAMPLE_RATES = (8000, 16000, 24000)


class ModelProfile(msgspec.Struct, frozen=True, kw_only=True):
    """Behaviour switches for one model family.

    ``interactive_text``: the model answers USER text sent with ``interactive: true``
    (Nova 2); without it a text turn needs spoken input to be answered (v1).
    ``turn_detection``: ``sessionStart`` accepts ``turnDetectionConfiguration``.
    ``speech_signals``: the model says when the user starts speaking (``userSpeechStart``,
    Nova 2); without it (v1) only its USER transcript, after the end-of-turn pause, does,
    and the session announces the speech from its own measure of the audio.
    ``regions``: where Bedrock offers the model, named in the advice when a region does
    not; empty where no list is vouched for (it grows as AWS adds regions).
    ``end_of_life`` / ``successor``: AWS's lifecycle for the model (its model card): from
    that date Bedrock no longer serves it, and ``successor`` is the model AWS names instead.
    """

    family: Literal["nova-sonic-v1", "nova-2-sonic", "nova-2-5-sonic"]
    base_id: str
    voices: tuple[str, ...]
    default_voice: str = "matthew"
    interactive_text: bool
    turn_detection: bool
    speech_signals: bool
    system_speech_role: bool
    connection_limit_seconds: float = 480.0
    regions: tuple[str, ...] = ()
    end_of_life: datetime.date | None = None
    successor: str | None = None
    # On-demand prices, USD per token (Bedrock's pricing page; see docs/keys.md); all zero
    # where no price is vouched for (the operator sets them in model_info).
    prices: Prices = Prices()

    def retired(self, today: datetime.date | None = None) -> bool:
        today = today or datetime.datetime.now(datetime.UTC).date()
        return self.end_of_life is not None and today >= self.end_of_life


_PROFILES = {
    V1_ID: ModelProfile(
        family="nova-sonic-v1",
        base_id=V1_ID,
        voices=_V1_VOICES,
        interactive_text=False,
        turn_detection=False,
        speech_signals=False,
        system_speech_role=False,
        regions=("us-east-1", "eu-north-1", "ap-northeast-1"),
        # AWS's model card: Legacy, end of life 2026-09-14; Nova 2 Sonic replaces it.
        end_of_life=datetime.date(2026, 9, 14),
        successor=V2_ID,
        # Per 1,000 tokens: speech $0.0034 in, $0.0136 out; text $0.00006 in, $0.00024 out.
        prices=Prices(
            input_audio=3.4e-6, output_audio=13.6e-6, input_text=0.06e-6, output_text=0.24e-6
        ),
    ),
    V2_ID: ModelProfile(
        family="nova-2-sonic",
        base_id=V2_ID,
        voices=_V2_VOICES,
        interactive_text=True,
        turn_detection=True,
        speech_signals=True,
        system_speech_role=True,
        # Per 1,000 tokens: speech $0.003 in, $0.012 out; text $0.00033 in, $0.00275 out.
        prices=Prices(
            input_audio=3.0e-6, output_audio=12.0e-6, input_text=0.33e-6, output_text=2.75e-6
        ),
    ),
    # Nova 2.5 Sonic (GA 2026-10-05). Its regions are the launch announcement's; its
    # protocol, voices and connection limit are taken to be Nova 2's (no model card yet
    # says otherwise), and no price for it is published that rtcore could vouch for.
    V2_5_ID: ModelProfile(
        family="nova-2-5-sonic",
        base_id=V2_5_ID,
        voices=_V2_VOICES,
        interactive_text=True,
        turn_detection=True,
        speech_signals=True,
        system_speech_role=True,
        regions=("us-east-1", "us-west-2", "eu-north-1", "ap-northeast-1"),
    ),
}

KNOWN_MODELS = tuple(_PROFILES)


def base_model_id(model_id: str) -> str:
    """Strip a LiteLLM-style ``bedrock/`` prefix and an inference-profile region prefix."""
    # "~..." suffixes carry options for a local emulator, never part of a Bedrock id.
    model_id = model_id.removeprefix("bedrock/").partition("~")[0]
    head, dot, rest = model_id.partition(".")
    if dot and rest.startswith("amazon.") and head.isalpha():
        return rest
    return model_id


def profile_for(model_id: str) -> ModelProfile | None:
    return _PROFILES.get(base_model_id(model_id))


def retirement_notice(profile: ModelProfile) -> str:
    return f"{profile.base_id} reached its end of life on {profile.end_of_life} (AWS retired it)"


def with_base(model_id: str, base: str) -> str:
    """``model_id`` with its base model replaced, keeping an inference-profile prefix."""
    model_id = model_id.removeprefix("bedrock/")
    old = base_model_id(model_id)
    return model_id.replace(old, base, 1) if old != base else model_id


def accepts(model_id: str) -> bool:
    """Ids the provider takes in a config: the known models, and what may be a newer Nova
    Sonic or an inference profile's ARN, which ``model_info.base_model`` then describes."""
    base = base_model_id(model_id)
    return profile_for(model_id) is not None or "sonic" in base or base.startswith("arn:")


def resolve_voice(profile: ModelProfile, voice: str | None) -> str:
    """The voice to use, or ValueError naming the model's real voices."""
    if voice is None or voice == "":
        return profile.default_voice
    name = voice.strip().lower()
    if name in profile.voices:
        return name
    raise ValueError(
        f"Voice {voice!r} is not available on {profile.base_id}. "
        f"Available voices: {', '.join(profile.voices)}."
    )


def endpointing_sensitivity(
    eagerness: str | None, silence_duration_ms: int | None
) -> Literal["HIGH", "MEDIUM", "LOW"] | None:
    """Map OpenAI's turn-detection knobs onto Nova 2's ``endpointingSensitivity``.

    HIGH ends a turn after the shortest pause (about 1.5 s per AWS), so it matches
    eager/short-silence settings; None means the client expressed no preference.
    """
    if eagerness is not None:
        level = eagerness.lower()
        if level == "high":
            return "HIGH"
        if level == "medium":
            return "MEDIUM"
        if level == "low":
            return "LOW"
        return None
    if silence_duration_ms is not None:
        if silence_duration_ms <= 500:
            return "HIGH"
        if silence_duration_ms <= 1200:
            return "MEDIUM"
        return "LOW"
    return None
