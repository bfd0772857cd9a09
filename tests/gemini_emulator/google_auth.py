"""google-auth pointed at the emulator, its HTTP session trusting the emulator's CA only."""

from __future__ import annotations

from pathlib import Path

import google.auth.transport.requests
import requests


def auth_request(ca_file: str | Path) -> google.auth.transport.requests.Request:
    session = requests.Session()
    session.verify = str(ca_file)
    # No REQUESTS_CA_BUNDLE or proxies from the environment: this session trusts one CA.
    session.trust_env = False
    return google.auth.transport.requests.Request(session)
