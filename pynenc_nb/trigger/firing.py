"""From a trigger that fired to its invocation: arguments from the providers, an invocation under
an id derived from what fired, and the run that claims the occurrence.

The ids are what makes firing safe to repeat: ``derived_id(trigger, occurrence keys)`` is the
run's id, and the invocation's id is derived from that. Registering an id that is stored answers
with the stored invocation, and storing a run id that is stored stores nothing, so firing the
same occurrence again (an engine replaying after a crash, two holders at once) changes nothing.
"""

from __future__ import annotations

import hashlib
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cloudpickle

from pynenc_nb.call import EncodedCall
from pynenc_nb.exceptions import PynencError, TriggerError
from pynenc_nb.records import CODE_NAMESPACE, RunnerContext, TriggerRun
from pynenc_nb.trigger.conditions import ConditionContext
from pynenc_nb.trigger.definition import PROVIDER_CONTEXTS, TriggerContext, TriggerDefinition
from pynenc_nb.trigger.references import FunctionRef

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc
    from pynenc_nb.task import Task


def derived_id(*parts: str) -> str:
    """A 32-hex id from parts: the same parts give the same id in every process."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Occurrence:
    """One thing that happened and made a condition hold; ``ref`` rebuilds its context later."""

    key: str
    kind: str  # "cron" | "event" | "status"
    source_id: str
    at: float
    ref: dict[str, Any]


@dataclass
class Firing:
    """A trigger firing: what fired (one occurrence, or one per condition of an AND) and the
    contexts handed to its providers."""

    occurrences: list[Occurrence]
    contexts: list[ConditionContext]

    @property
    def source(self) -> tuple[str, str]:
        """(source_kind, source_id) of its run; an AND's run points at its event when it has one,
        so the events browser lists it under that event."""
        if len(self.occurrences) == 1:
            return self.occurrences[0].kind, self.occurrences[0].source_id
        chosen = next((o for o in self.occurrences if o.kind == "event"), self.occurrences[0])
        return "composite", chosen.source_id


class FunctionResolver:
    """Providers and filters by reference: imported, or loaded from the state backend when shipped
    from a notebook; cached per process."""

    def __init__(self, app: Pynenc) -> None:
        self.app = app
        self._functions: dict[str, Callable[..., Any]] = {}

    def __call__(self, ref: FunctionRef) -> Callable[..., Any]:
        key = ref.shipped_key if ref.version else ref.path
        function = self._functions.get(key)
        if function is not None:
            return function
        loaded: Any
        if ref.version:
            stored = self.app.state_backend.kv_get(CODE_NAMESPACE, ref.shipped_key)
            if stored is None:
                raise TriggerError(
                    f"{ref.path} (shipped from a notebook) is not stored: re-run the cell that defines it"
                )
            loaded = cloudpickle.loads(self.app.serializer.unwrap_bytes(stored))
        else:
            try:
                loaded = importlib.import_module(ref.module)
                for part in ref.qualname.split("."):
                    loaded = getattr(loaded, part)
            except (ImportError, AttributeError) as exc:
                raise TriggerError(f"{ref.path} cannot be imported where triggers are evaluated: {exc}") from None
        if not callable(loaded):
            raise TriggerError(f"{ref.path} is not a function")
        resolved: Callable[..., Any] = loaded
        self._functions[key] = resolved
        return resolved


class Firer:
    def __init__(self, app: Pynenc, holder: RunnerContext, resolve: FunctionResolver) -> None:
        self.app = app
        self.holder = holder
        self.resolve = resolve

    def fire(self, trigger_id: str, definition: TriggerDefinition, firings: list[Firing]) -> int:
        """Register the invocations of these firings of one trigger (one batch), then store their
        runs; returns how many runs this call stored."""
        now = time.time()
        task = self._task(definition.task_id)
        runs: list[TriggerRun] = []
        calls: list[EncodedCall] = []
        ids: list[str] = []
        pending: list[tuple[str, str, str, int]] = []
        limit = self.app.conf.trigger_chain_max_depth
        for firing, depth in zip(firings, self._depths(firings), strict=True):
            run_id = derived_id(trigger_id, *(o.key for o in firing.occurrences))
            kind, source_id = firing.source
            if depth > limit:
                error = TriggerError(
                    f"trigger {trigger_id[:8]} of {definition.task_id} fired on what a chain of {limit} trigger runs "
                    f"made (trigger_chain_max_depth={limit}): the chain is stopped here; a task that triggers on its "
                    "own status or events re-triggers itself forever, give its trigger a condition that ends"
                )
                self.app.logger.error("%s: %s", type(error).__name__, error)
                runs.append(TriggerRun(run_id, trigger_id, definition.task_id, kind, source_id, None, now, depth))
                continue
            context = TriggerContext(trigger_id, definition.task_id, tuple(firing.contexts))
            call = self._call(trigger_id, definition, task, context) if task is not None else None
            if call is None:
                runs.append(TriggerRun(run_id, trigger_id, definition.task_id, kind, source_id, None, now, depth))
                continue
            calls.append(call)
            ids.append(derived_id("invocation", run_id))
            pending.append((run_id, kind, source_id, depth))
        if calls and task is not None:
            orchestrator = self.app.orchestrator
            records = orchestrator.register(task, calls, None, registered_by=self.holder.runner_id, invocation_ids=ids)
            for (run_id, kind, source_id, depth), record in zip(pending, records, strict=True):
                runs.append(
                    TriggerRun(
                        run_id, trigger_id, definition.task_id, kind, source_id, record.invocation_id, now, depth
                    )
                )
        return sum(self.app.trigger_store.add_trigger_runs(runs)) if runs else 0

    def _depths(self, firings: list[Firing]) -> list[int]:
        """Each firing's chain depth: 1 + the deepest run that created an invocation it fired on
        (whose status changed, or which emitted its event). Two reads for the whole batch."""
        event_ids = [o.source_id for f in firings for o in f.occurrences if o.kind == "event"]
        emitters = {
            event_id: event.emitter_invocation_id
            for event_id, event in (self.app.trigger_store.get_events(event_ids) if event_ids else {}).items()
        }
        sources: list[list[str]] = []
        for firing in firings:
            ids = [o.source_id for o in firing.occurrences if o.kind == "status"]
            ids += [e for o in firing.occurrences if o.kind == "event" and (e := emitters.get(o.source_id))]
            sources.append(ids)
        wanted = sorted({i for ids in sources for i in ids})
        made = self.app.trigger_store.trigger_runs(invocation_ids=wanted, limit=2 * len(wanted)) if wanted else []
        depth_of = {run.invocation_id: run.depth for run in made if run.invocation_id}
        return [1 + max((depth_of.get(i, 0) for i in ids), default=0) for ids in sources]

    def _task(self, task_id: str) -> Task[Any, Any] | None:
        try:
            return self.app.get_task(task_id)
        except PynencError as exc:
            self.app.logger.error("a trigger of %s fired, but the task cannot be loaded here: %s", task_id, exc)
            return None

    def _call(
        self, trigger_id: str, definition: TriggerDefinition, task: Task[Any, Any], context: TriggerContext
    ) -> EncodedCall | None:
        """The encoded call for one firing, or None (logged) when no provider gives valid arguments."""
        try:
            kwargs = self._provide(definition, context)
            return task.encode(task.signature.bind((), kwargs))
        except Exception as exc:
            self.app.logger.warning(
                "trigger %s of %s fired but made no invocation: %s", trigger_id[:8], definition.task_id, exc
            )
            return None

    def _provide(self, definition: TriggerDefinition, context: TriggerContext) -> dict[str, Any]:
        """The arguments from the first provider that applies to what fired (none: no arguments)."""
        if not definition.providers:
            return {}
        for provider in definition.providers:
            if not provider.applies_to(context):
                continue
            if provider.source == "static":
                return dict(provider.static or {})
            assert provider.function is not None  # every other source names a function
            function = self.resolve(provider.function)
            if provider.source == "trigger":
                value = function(context)
            else:
                value = function(context.context_of(PROVIDER_CONTEXTS[provider.source]))
            if not isinstance(value, dict):
                raise TriggerError(f"argument provider {provider.function.path} returned {value!r}, not a dict")
            return value
        kinds = ", ".join(type(c).__name__ for c in context.contexts)
        raise TriggerError(f"none of its argument providers applies to what fired ({kinds})")
