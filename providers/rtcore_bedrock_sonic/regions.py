"""AWS regions, to catch a misspelt one at start instead of as a DNS error at the first
stream (``us-est-1`` otherwise fails as ``AWS_IO_DNS_INVALID_NAME``)."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping

# The commercial, GovCloud and China regions AWS lists (2026). A new region in a known
# area (ap-southeast-8) is tried, with a warning; anything else not here is refused.
KNOWN_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "ca-central-1", "ca-west-1", "mx-central-1", "sa-east-1",
    "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-south-1", "eu-south-2", "eu-north-1",
    "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "me-south-1", "me-central-1", "il-central-1", "af-south-1",
    "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1",
)  # fmt: skip

_SHAPE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")


class RegionError(ValueError):
    pass


def check_region(region: str, where: str) -> str | None:
    """Raise ``RegionError`` for what is not a region (a misspelling of one, or not shaped
    like one); return a warning for a well-formed region rtcore does not know, such as a
    new one in a known area (None when it knows it)."""
    if region in KNOWN_REGIONS:
        return None
    area = region.rpartition("-")[0]
    if _SHAPE.match(region) and area in {r.rpartition("-")[0] for r in KNOWN_REGIONS}:
        return f"{region!r} ({where}) is not an AWS region rtcore knows; trying it anyway"
    close = difflib.get_close_matches(region.lower(), KNOWN_REGIONS, n=2, cutoff=0.75)
    hint = f"; did you mean {' or '.join(close)}?" if close else "."
    raise RegionError(
        f"{region!r} ({where}) is not an AWS region{hint} AWS regions: {', '.join(KNOWN_REGIONS)}."
    )


REGION_PARAMS = ("aws_region_name", "region_name", "aws_region")
REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_REGION_NAME")


def configured_region(
    params: Mapping[str, object], environ: Mapping[str, str] | None = None
) -> tuple[str | None, str]:
    """The region the model's params or the environment name, and where it came from (a
    profile's region is only known once the SDK has read the profile)."""
    for name in REGION_PARAMS:
        value = params.get(name)
        if value is not None and str(value).strip():
            return str(value).strip(), f"litellm_params.{name}"
    env = os.environ if environ is None else environ
    for name in REGION_ENV:
        if env.get(name):
            return env[name], name
    return None, ""
