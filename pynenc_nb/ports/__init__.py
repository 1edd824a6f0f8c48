"""The four ports every backend implements (a broker-only backend implements just ``Broker``).

Ports move ids and opaque text; serialization and orchestration logic live above them, once.
"""

from pynenc_nb.ports.arg_cache import ArgCache
from pynenc_nb.ports.broker import Broker, RegisterAndSend, TakeAndStart
from pynenc_nb.ports.state import StateBackend
from pynenc_nb.ports.trigger_store import TriggerStore

__all__ = ["ArgCache", "Broker", "RegisterAndSend", "StateBackend", "TakeAndStart", "TriggerStore"]
