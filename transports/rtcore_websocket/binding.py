"""Whether the WebSocket transport may listen where it was asked to."""

from __future__ import annotations

from rtcore.serve_settings import ServeError, ServeSettings


def check_binding(settings: ServeSettings) -> None:
    """With no master key any API key is accepted: only loopback, unless the operator
    says otherwise (``--allow-unauthenticated-public``)."""
    if (
        settings.master_key is not None
        or settings.is_loopback
        or settings.allow_unauthenticated_public
    ):
        return
    raise ServeError(
        f"refusing to listen on {settings.host} without a master key: any API key would be "
        "accepted. Set general_settings.master_key in the config or RTCORE_MASTER_KEY, bind "
        "127.0.0.1, or pass --allow-unauthenticated-public."
    )
