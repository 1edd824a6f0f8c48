"""The ports every backend implements (a broker-only backend implements just ``Broker``), and how
runners take work (``WorkSource``).

Ports move ids and opaque text; serialization and orchestration logic live above them, once.
"""

from pynenc_nb.ports.arg_cache import ArgCache
from pynenc_nb.ports.broker import Broker
from pynenc_nb.ports.state import StateBackend
from pynenc_nb.ports.trigger_store import TriggerStore
from pynenc_nb.ports.work import TakeRules, WorkSource

__all__ = ["ArgCache", "Broker", "StateBackend", "TakeRules", "TriggerStore", "WorkSource"]
