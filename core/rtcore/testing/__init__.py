"""Testing providers: the contract suite every provider's own tests run.

Installed with rtcore as a pytest plugin (entry point ``pytest11: rtcore``), so a provider's
test suite needs nothing but::

    from rtcore.testing import ProviderContract, Speech

    class TestMyProviderContract(ProviderContract):
        @pytest.fixture
        def contract_provider(self) -> Provider: ...   # the provider under test
        @pytest.fixture
        def contract_speech(self) -> Speech: ...       # audio its turn detection hears
        @pytest.fixture
        def contract_reconnect(self) -> Reconnect: ... # makes its upstream reconnect
        @pytest.fixture
        def contract_unreachable(self) -> Provider: ... # one whose upstream is unreachable

See docs/writing-a-provider.md.
"""

from rtcore.testing.contract import ProviderContract
from rtcore.testing.driver import Driver
from rtcore.testing.ids import ANY_ID, anonymous
from rtcore.testing.inputs import Reconnect, Speech

__all__ = ["ANY_ID", "Driver", "ProviderContract", "Reconnect", "Speech", "anonymous"]
