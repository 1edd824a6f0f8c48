"""Tasks: decorated functions that register invocations instead of running inline."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import inspect
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

from pynenc_nb import context
from pynenc_nb.call import Arguments, EncodedCall, PayloadLimits, Signature, encode_call
from pynenc_nb.exceptions import InvalidTaskOptionsError
from pynenc_nb.execution import run_inline
from pynenc_nb.host import EngineHost
from pynenc_nb.invocation.handle import Invocation, InvocationGroup, wait_until_final
from pynenc_nb.live_apps import restore_task
from pynenc_nb.task_options import TaskOptions
from pynenc_nb.workflow.context import WorkflowContext

P = ParamSpec("P")
R = TypeVar("R")


class TaskHost(EngineHost, Protocol):
    """What a task needs of its app: the engine's needs, and publishing where its code lives."""

    def ensure_task_published(self, task: Task[Any, Any]) -> None: ...


# While code is pickled to be shipped (``shipping.pack``), the tasks it refers to are noted here:
# they must be published with it, or a runner could not find them.
_noted: contextvars.ContextVar[list[Task[Any, Any]] | None] = contextvars.ContextVar(
    "pynenc_nb_noted_tasks", default=None
)


@contextlib.contextmanager
def noting_pickled_tasks() -> Iterator[list[Task[Any, Any]]]:
    """Collect every task pickled (by reference) inside the block."""
    noted: list[Task[Any, Any]] = []
    token = _noted.set(noted)
    try:
        yield noted
    finally:
        _noted.reset(token)


def task_id_of(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def config_key_of(func: Callable[..., Any]) -> str:
    """The key of per-task settings: ``PYNENC__TASK__<module>#<func>__<field>``."""
    return f"{func.__module__}#{func.__qualname__}"


class Task(Generic[P, R]):
    """A task of one app. Calling it returns an :class:`Invocation`; see ``parallelize`` for many."""

    def __init__(
        self,
        app: TaskHost,
        func: Callable[P, R],
        options: TaskOptions,
        *,
        is_workflow: bool = False,
    ) -> None:
        if not callable(func):
            raise InvalidTaskOptionsError(f"@app.task decorates functions, got {func!r}")
        self.app = app
        self.func = func
        self.options = options
        self.is_workflow = is_workflow
        self.task_id = task_id_of(func)
        self.signature = Signature(func)
        self.is_async = inspect.iscoroutinefunction(func)
        self.version: str | None = None  # set for code shipped by value (notebook cells)
        self.logger = logging.getLogger(f"pynenc.{app.app_id}.{self.task_id}")
        functools.update_wrapper(self, func)

    def __repr__(self) -> str:
        return f"<Task {self.task_id}>"

    @property
    def wf(self) -> WorkflowContext:
        """The workflow of the running invocation: identity, data, and ``wf.root`` for the
        deterministic operations of a workflow root (see :mod:`pynenc_nb.workflow.context`)."""
        return WorkflowContext()

    @property
    def invocation(self) -> Invocation[R] | None:
        """pynenc's ``task.invocation``: in this task's running code, the handle of the invocation
        being executed (its id, retries, parent…); None anywhere else."""
        execution = context.current()
        if execution is None or execution.record.task_id != self.task_id:
            return None
        return Invocation(self.app, execution.record)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        """By reference (app id, task id): resolved lazily in the process that unpickles it."""
        noted = _noted.get()
        if noted is not None:
            noted.append(self)
        return restore_task, (self.app.app_id, self.task_id)

    # --- calling ---------------------------------------------------------------------------------

    def args(self, *args: P.args, **kwargs: P.kwargs) -> Arguments:
        """Bind arguments now (checked against the signature) for ``parallelize``."""
        return Arguments(self.signature.bind(args, kwargs))

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Invocation[R]:
        values = self.signature.bind(args, kwargs)
        return self._invoke([self.encode(values)])[0]

    def parallelize(
        self,
        param_iter: Iterable[tuple[Any, ...] | Mapping[str, Any] | Arguments | Any],
        common_args: Mapping[str, Any] | None = None,
    ) -> InvocationGroup[R]:
        """Register one invocation per item: a tuple (positional), a dict (keywords) or ``task.args(...)``."""
        common = dict(common_args or {})
        calls: list[EncodedCall] = []
        for item in param_iter:
            if isinstance(item, Arguments):
                values = {**item.values, **common}
            elif isinstance(item, Mapping):
                values = self.signature.bind((), {**common, **item})
            elif isinstance(item, tuple):
                values = self.signature.bind(item, common)
            else:
                values = self.signature.bind((item,), common)
            calls.append(self.encode(values))
        invocations: list[Invocation[R]] = []
        size = self.options.parallel_batch_size
        for start in range(0, len(calls), size):
            invocations.extend(self._invoke(calls[start : start + size]))
        return InvocationGroup(self.app, self.task_id, invocations)

    def encode(self, values: Mapping[str, Any]) -> EncodedCall:
        """The stored form of a bound call (what ``register`` takes); the trigger engine builds
        triggered calls with it."""
        app = self.app
        conf = app.conf

        def encoded(of: Mapping[str, Any]) -> EncodedCall:
            return encode_call(
                self.task_id,
                of,
                app.serializer,
                app.arg_cache,
                conf.arg_cache_min_bytes,
                print_mode=conf.argument_print_mode,
                print_length=conf.truncate_arguments_length,
                limits=PayloadLimits(conf.payload_warn_bytes, conf.payload_max_bytes),
            )

        if self.options.disable_cache_args:
            # disabled arguments are left out of the call identity (cache and ARGUMENTS keys)
            full = encoded(values)
            keyed = encoded({k: v for k, v in values.items() if k not in self.options.disable_cache_args})
            return EncodedCall(full.arguments, full.encoded, keyed.call_id, full.args_display)
        return encoded(values)

    def _invoke(self, calls: list[EncodedCall]) -> list[Invocation[R]]:
        app = self.app
        app.ensure_task_published(self)
        execution = context.current()
        parent = execution.record if execution is not None else None
        runner = context.current_runner() or app.client_context()
        caller = runner.runner_id
        if app.conf.dev_mode_force_sync_tasks:
            records = app.orchestrator.register(self, calls, parent, enqueue=False, registered_by=caller)
            return [Invocation(app, run_inline(app, record)) for record in records]
        in_task_thread = execution is not None and execution.thread_id == threading.get_ident()
        records = app.orchestrator.register(self, calls, parent, registered_by=caller, in_task_thread=in_task_thread)
        return [Invocation(app, record) for record in records]

    # --- executing (runners) ---------------------------------------------------------------------

    def run(self, values: Mapping[str, Any]) -> Any:
        """Execute the function body with decoded arguments; coroutines run to completion."""
        result = self.signature.call(self.func, values)
        if inspect.isawaitable(result):
            return run_coroutine(result)
        return result


def run_coroutine(awaitable: Any) -> Any:
    """Run a coroutine to completion, also when this thread already runs an event loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(awaitable))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(contextvars.copy_context().run, asyncio.run, _await(awaitable)).result()


async def _await(awaitable: Any) -> Any:
    return await awaitable


class DirectTask(Task[P, R]):
    """A task called like a plain function: the call waits and returns the value (or raises).

    With ``parallel_func`` the call is split into many invocations run in parallel, and
    ``aggregate_func`` combines their results (in call order).
    """

    def __init__(
        self,
        app: TaskHost,
        func: Callable[P, R],
        options: TaskOptions,
        parallel_func: Callable[..., Iterable[Any]] | None = None,
        aggregate_func: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        super().__init__(app, func, options)
        if (parallel_func is None) != (aggregate_func is None):
            raise InvalidTaskOptionsError(
                f"direct task {self.task_id}: parallel_func and aggregate_func go together; pass both or neither"
            )
        self.parallel_func = parallel_func
        self.aggregate_func = aggregate_func

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:  # type: ignore[override]
        """The value, as a plain call would return it; for an ``async def`` task an awaitable of
        it, so that awaiting it never blocks the caller's event loop (pynenc's behaviour)."""
        if self.is_async:
            return self._awaited(args, kwargs)  # type: ignore[return-value]
        if self.parallel_func is None or self.aggregate_func is None:
            return super().__call__(*args, **kwargs).result
        group = self._split(args, kwargs)
        wait_until_final(self.app, [inv.invocation_id for inv in group.invocations], None)  # one wait, not N
        aggregated: R = self.aggregate_func([inv.result for inv in group.invocations])
        return aggregated

    async def _awaited(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.parallel_func is None or self.aggregate_func is None:
            return await super().__call__(*args, **kwargs).async_result()
        group = self._split(args, kwargs)
        ids = [inv.invocation_id for inv in group.invocations]
        await asyncio.get_running_loop().run_in_executor(None, wait_until_final, self.app, ids, None)
        return self.aggregate_func([inv.result for inv in group.invocations])

    def _split(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> InvocationGroup[R]:
        """``parallel_func(arguments)`` gives the argument sets, or pynenc's ``(common_args,
        param_iter)`` pair (also as a ``{"common_args": …, "param_iter": …}`` mapping), whose
        common arguments are encoded once for every call."""
        assert self.parallel_func is not None
        parts = self.parallel_func(self.signature.bind(args, kwargs))
        if isinstance(parts, Mapping) and set(parts) == {"common_args", "param_iter"}:
            return self.parallelize(parts["param_iter"], parts["common_args"])
        if (
            isinstance(parts, tuple)
            and len(parts) == 2
            and isinstance(parts[0], Mapping)
            and isinstance(parts[1], Iterable)
            and not isinstance(parts[1], Mapping | str | bytes)
        ):
            return self.parallelize(parts[1], parts[0])
        return self.parallelize(list(parts))

    def invoke(self, *args: P.args, **kwargs: P.kwargs) -> Invocation[R]:
        """The invocation handle, for callers that do want one."""
        return super().__call__(*args, **kwargs)
