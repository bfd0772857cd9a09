"""What a provider plugin implements (``interface``) and the messages it exchanges with the
core (``messages``). The kit that helps build one is ``rtcore.kit``."""

from rtcore.provider.interface import (
    ALL_RESPONSE_OVERRIDES,
    ALL_SESSION_OPTIONS,
    Capabilities,
    DeploymentLimits,
    ModelConfig,
    Prices,
    Provider,
    ProviderSession,
    ProviderSpec,
    ProviderUnavailable,
    ReportsConnected,
    ReportsReadiness,
    SettingRefused,
    WarmsUp,
)

__all__ = [
    "ALL_RESPONSE_OVERRIDES",
    "ALL_SESSION_OPTIONS",
    "Capabilities",
    "DeploymentLimits",
    "ModelConfig",
    "Prices",
    "Provider",
    "ProviderSession",
    "ProviderSpec",
    "ProviderUnavailable",
    "ReportsConnected",
    "ReportsReadiness",
    "SettingRefused",
    "WarmsUp",
]
