"""``TriggerBuilder``: declare, on the task that should run, what makes it run (pynenc's API).

Every method checks its input when it is called, so a bad trigger fails where it is written: an
invalid cron expression raises ``InvalidCronError``, a lambda or nested function as a filter or
provider raises ``TriggerError`` (functions are stored by reference).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from pynenc_nb.exceptions import InvalidTaskOptionsError, TriggerError
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.trigger.conditions import (
    ArgumentFilter,
    CompositeLogic,
    Condition,
    CronCondition,
    EventCondition,
    EventContext,
    ExceptionCondition,
    ExceptionContext,
    ResultCondition,
    ResultContext,
    StatusCondition,
    StatusContext,
)
from pynenc_nb.trigger.conditions.exception import exception_names
from pynenc_nb.trigger.conditions.result import ResultFilter
from pynenc_nb.trigger.definition import ArgumentProvider, TriggerContext, TriggerDefinition
from pynenc_nb.trigger.references import FunctionRef

ArgumentsSpec = Mapping[str, Any] | Callable[[dict[str, Any]], bool] | None
_UNSET: Any = object()


class _HasTaskId(Protocol):
    task_id: str


def _task_id(task: _HasTaskId | str, method: str) -> str:
    task_id = task if isinstance(task, str) else getattr(task, "task_id", None)
    if not isinstance(task_id, str):
        raise TriggerError(f"{method} takes a task (or its task id), got {task!r}")
    return task_id


def _statuses(statuses: Any) -> tuple[InvocationStatus, ...]:
    items = statuses if isinstance(statuses, list | tuple | set | frozenset) else [statuses]
    resolved: list[InvocationStatus] = []
    for item in items:
        try:
            resolved.append(item if isinstance(item, InvocationStatus) else InvocationStatus(item))
        except ValueError:
            names = ", ".join(s.value for s in InvocationStatus)
            raise TriggerError(f"on_status: {item!r} is not a status; use one of {names}") from None
    if not resolved:
        raise TriggerError("on_status needs at least one status")
    return tuple(resolved)


class TriggerBuilder:
    """Conditions (``on_*``), how they combine (``with_logic``, AND by default) and where the
    triggered call's arguments come from (``with_args_*``; the first provider that applies to
    what fired is used, and no provider means a call without arguments)."""

    def __init__(self) -> None:
        self.conditions: list[Condition] = []
        self.logic = CompositeLogic.AND
        self.argument_providers: list[ArgumentProvider] = []

    def __repr__(self) -> str:
        kinds = ", ".join(c.kind for c in self.conditions) or "no condition"
        return f"<TriggerBuilder {self.logic.value}: {kinds}>"

    # --- conditions ------------------------------------------------------------------------------

    def on_cron(self, cron_expression: str) -> TriggerBuilder:
        """Every tick of a five-field cron schedule, in UTC."""
        self.conditions.append(CronCondition(cron_expression))
        return self

    def on_event(
        self, event_code: str, payload_filter: Mapping[str, Any] | Callable[[dict[str, Any]], bool] | None = None
    ) -> TriggerBuilder:
        """Every event of ``event_code`` whose payload includes ``payload_filter``'s items (or
        passes the function)."""
        if not isinstance(event_code, str) or not event_code:
            raise TriggerError(f"on_event takes an event code (a non-empty string), got {event_code!r}")
        self.conditions.append(EventCondition(event_code, ArgumentFilter.of(payload_filter, "on_event payload_filter")))
        return self

    def on_status(
        self,
        task: _HasTaskId | str,
        statuses: InvocationStatus | str | Sequence[InvocationStatus | str] = InvocationStatus.SUCCESS,
        call_arguments: ArgumentsSpec = None,
    ) -> TriggerBuilder:
        """Every invocation of ``task`` reaching one of ``statuses`` (whose arguments pass
        ``call_arguments``)."""
        self.conditions.append(
            StatusCondition(
                _task_id(task, "on_status"),
                _statuses(statuses),
                ArgumentFilter.of(call_arguments, "on_status call_arguments"),
            )
        )
        return self

    def on_any_result(self, task: _HasTaskId | str, call_arguments: ArgumentsSpec = None) -> TriggerBuilder:
        """Every invocation of ``task`` ending SUCCESS."""
        self.conditions.append(
            ResultCondition(_task_id(task, "on_any_result"), ArgumentFilter.of(call_arguments, "on_any_result"))
        )
        return self

    def on_result(
        self,
        task: _HasTaskId | str,
        filter_result: Any = _UNSET,
        call_arguments: ArgumentsSpec = None,
        *,
        filter: Any = _UNSET,  # noqa: A002 - the name users type
    ) -> TriggerBuilder:
        """Every invocation of ``task`` ending SUCCESS with a result equal to ``filter_result``,
        or for which ``filter_result(result)`` is True (``filter=`` is the same argument)."""
        spec = filter if filter is not _UNSET else filter_result
        if spec is _UNSET:
            raise TriggerError("on_result needs the expected result or a filter function; use on_any_result for any")
        self.conditions.append(
            ResultCondition(
                _task_id(task, "on_result"),
                ArgumentFilter.of(call_arguments, "on_result call_arguments"),
                ResultFilter.of(spec, "on_result filter"),
            )
        )
        return self

    def on_exception(
        self,
        task: _HasTaskId | str,
        exception_types: Sequence[str | type[BaseException]] | str | type[BaseException] | None = None,
        call_arguments: ArgumentsSpec = None,
    ) -> TriggerBuilder:
        """Every invocation of ``task`` ending FAILED with one of ``exception_types`` (or a
        subclass; any exception when None)."""
        self.conditions.append(
            ExceptionCondition(
                _task_id(task, "on_exception"),
                ArgumentFilter.of(call_arguments, "on_exception call_arguments"),
                exception_names(exception_types),
            )
        )
        return self

    def with_logic(self, logic: CompositeLogic | str) -> TriggerBuilder:
        try:
            self.logic = CompositeLogic(logic)
        except ValueError:
            raise TriggerError(f"with_logic takes 'and' or 'or', got {logic!r}") from None
        return self

    # --- arguments -------------------------------------------------------------------------------

    def with_args_static(self, args: Mapping[str, Any]) -> TriggerBuilder:
        if not isinstance(args, Mapping) or not all(isinstance(k, str) for k in args):
            raise TriggerError(f"with_args_static takes a dict of argument names to values, got {args!r}")
        self.argument_providers.append(ArgumentProvider("static", static=dict(args)))
        return self

    def with_arguments(self, args: Mapping[str, Any]) -> TriggerBuilder:
        """pynenc's older name of :meth:`with_args_static`."""
        return self.with_args_static(args)

    def _provider(self, source: str, callback: Callable[..., dict[str, Any]], method: str) -> TriggerBuilder:
        self.argument_providers.append(ArgumentProvider(source, function=FunctionRef.of(callback, method)))
        return self

    def with_args_from_event(self, callback: Callable[[EventContext], dict[str, Any]]) -> TriggerBuilder:
        return self._provider("event", callback, "with_args_from_event")

    def with_args_from_status(self, callback: Callable[[StatusContext], dict[str, Any]]) -> TriggerBuilder:
        return self._provider("status", callback, "with_args_from_status")

    def with_args_from_result(self, callback: Callable[[ResultContext], dict[str, Any]]) -> TriggerBuilder:
        return self._provider("result", callback, "with_args_from_result")

    def with_args_from_exception(self, callback: Callable[[ExceptionContext], dict[str, Any]]) -> TriggerBuilder:
        return self._provider("exception", callback, "with_args_from_exception")

    def with_args_from_trigger_context(self, callback: Callable[[TriggerContext], dict[str, Any]]) -> TriggerBuilder:
        return self._provider("trigger", callback, "with_args_from_trigger_context")

    # --- result ----------------------------------------------------------------------------------

    def build(self, task_id: str) -> TriggerDefinition:
        if not self.conditions:
            raise TriggerError(f"a trigger of {task_id} has no condition: add on_cron, on_event, on_status, ...")
        return TriggerDefinition(task_id, tuple(self.conditions), self.logic, tuple(self.argument_providers))


def definitions_of(triggers: Sequence[Any], task_id: str, source: str) -> list[TriggerDefinition]:
    """The definitions of a task's ``triggers=`` option: builders only, each with a condition."""
    definitions: list[TriggerDefinition] = []
    for item in triggers:
        if not isinstance(item, TriggerBuilder):
            raise InvalidTaskOptionsError(
                f"{source}: triggers takes TriggerBuilder objects (or a list of them), got {item!r}; "
                "e.g. triggers=TriggerBuilder().on_event('feed_updated')"
            )
        definitions.append(item.build(task_id))
    return definitions
