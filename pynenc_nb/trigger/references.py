"""Functions named by a trigger (argument providers, filters): stored by reference, never pickled.

A reference is ``module:qualname``: the evaluator (another process, maybe another host) imports it.
That is why a lambda or a nested function is refused when the trigger is defined: nothing could
import it. A function defined in a notebook cell (module ``__main__``) cannot be imported either;
the app ships it by value like a cell task, and the reference then carries the content version
it was stored under (``version``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

from pynenc_nb.exceptions import SerializationError, TriggerError

# Key of a function shipped by value, in the state backend's CODE_NAMESPACE (beside task code).
SHIPPED_PREFIX = "function:"


@dataclass(frozen=True)
class FunctionRef:
    module: str
    qualname: str
    version: str | None = None  # content hash of a function shipped by value (notebook cells)
    # The function itself, in the process that defined the trigger: used there without an import.
    func: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    payload: bytes | None = field(default=None, compare=False, repr=False)  # the pickled function, when shipped

    @classmethod
    def of(cls, func: Any, what: str) -> FunctionRef:
        """The reference of ``func``, or a TriggerError saying why it cannot be one."""
        if not callable(func):
            raise TriggerError(f"{what} must be a function, got {func!r}")
        name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
        module = getattr(func, "__module__", None)
        if not isinstance(name, str) or not isinstance(module, str):
            raise TriggerError(f"{what}: {func!r} has no module-level name; use a module-level named function")
        if "<lambda>" in name:
            raise TriggerError(
                f"{what} is a lambda: triggers store their functions by reference, so use a module-level "
                "named function (def ...) instead"
            )
        if "<locals>" in name:
            raise TriggerError(
                f"{what} {name} is defined inside another function: triggers store their functions by "
                "reference, so use a module-level named function"
            )
        if module != "__main__":
            return cls(module, name, func=func)
        try:
            payload = cloudpickle.dumps(func)
        except Exception as exc:
            raise SerializationError(
                f"{what} {name} is defined in a notebook cell, so it is shipped to runners by value, but it "
                f"cannot be pickled: {exc}"
            ) from exc
        return cls(module, name, hashlib.sha256(payload).hexdigest()[:16], func=func, payload=payload)

    @property
    def shipped_key(self) -> str:
        return f"{SHIPPED_PREFIX}{self.path}@{self.version}"

    @property
    def path(self) -> str:
        return f"{self.module}:{self.qualname}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"module": self.module, "qualname": self.qualname}
        if self.version:
            data["version"] = self.version
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FunctionRef:
        return cls(str(data["module"]), str(data["qualname"]), data.get("version"))
