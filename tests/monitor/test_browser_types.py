"""The kernel/browser boundary is typed once on each side and both sides agree.

Python: a ``TypedDict`` per JSON shape (``pynenc_nb/monitor/models.py`` for the views,
``pynenc_nb/web/queries.py`` for the route answers). TypeScript: an ``export interface`` of the
same name in ``labextension/src/api.ts``, parsed here in the format its header documents. Both
sides must have the same names, keys, optionality and compatible types; every view's dataclass
fields are the keys of its shape; and real answers built from a real workload have exactly those
keys, with values of those types.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.monitor import Monitor, event_models, log_models, models, workflow_models
from pynenc_nb.records import WORKFLOW_OPS_NAMESPACE, TriggerRun, new_id
from pynenc_nb.web import queries
from pynenc_nb.web.catalog import AppCatalog, configured_entry
from pynenc_nb.widgets.figures.common import FigureDict
from pynenc_nb.workflow.context import step_key
from tests.monitor.conftest import Workload, add_runner

API_TS = Path(__file__).resolve().parents[2] / "labextension" / "src" / "api.ts"
SHAPE_MODULES = (models, event_models, workflow_models, log_models, queries)
END_OF_SHAPES = "// --- end of the JSON shapes"
# names the shapes' annotations use that their modules import only for type checking
HINT_NAMES = {"FigureDict": FigureDict}


@pytest.fixture
def backend_kind() -> str:
    return "memory"  # the shapes come from the view code, the same over every backend


# --- one type language for both sides ------------------------------------------------------------
#
# A type is a frozenset of atoms (its union members): "string", "number", "boolean", "null", "any",
# ("literal", value), ("list", type), ("map", type) for string-keyed objects, ("ref", name).

Atom = Any
Canon = frozenset[Atom]


def python_type(hint: Any) -> Canon:
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return frozenset({"any"})
    if hint is type(None) or hint is None:
        return frozenset({"null"})
    scalar = {str: "string", int: "number", float: "number", bool: "boolean"}.get(hint)
    if scalar is not None:
        return frozenset({scalar})
    if is_typeddict(hint):
        return frozenset({("ref", hint.__name__)})
    if origin is Literal:
        assert all(isinstance(a, str) for a in args), f"only string literals cross to the browser: {hint}"
        return frozenset(("literal", a) for a in args)
    if origin in (Union, types.UnionType):
        return frozenset().union(*(python_type(a) for a in args))
    if origin is list:
        return frozenset({("list", python_type(args[0]))})
    if origin is dict:
        assert args[0] is str, f"JSON object keys are strings: {hint}"
        return frozenset({("map", python_type(args[1]))})
    raise AssertionError(f"no browser type for {hint!r}")


def _split_top(text: str, separator: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "(<[":
            depth += 1
        elif char in ")>]":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def ts_type(text: str, aliases: dict[str, str]) -> Canon:
    text = text.strip()
    members = _split_top(text, "|")
    if len(members) > 1:
        return frozenset().union(*(ts_type(m, aliases) for m in members))
    if text.endswith("[]"):
        return frozenset({("list", ts_type(text[:-2], aliases))})
    if text.startswith("(") and text.endswith(")"):
        return ts_type(text[1:-1], aliases)
    record = re.fullmatch(r"Record<\s*string\s*,(.*)>", text)
    if record:
        return frozenset({("map", ts_type(record[1], aliases))})
    literal = re.fullmatch(r"'([^']*)'", text)
    if literal:
        return frozenset({("literal", literal[1])})
    if text in ("string", "number", "boolean", "null"):
        return frozenset({text})
    if text in ("any", "unknown"):
        return frozenset({"any"})
    if text in aliases:
        return ts_type(aliases[text], aliases)
    assert re.fullmatch(r"[A-Z]\w*", text), f"api.ts: {text!r} is not in the documented type format"
    return frozenset({("ref", text)})


# --- both sides as {name: {key: (optional, type)}} --------------------------------------------------

Shape = dict[str, tuple[bool, Canon]]


def python_shapes() -> dict[str, Shape]:
    """Every TypedDict of the shape modules, and those they refer to (FigureDict)."""
    pending = [v for m in SHAPE_MODULES for v in vars(m).values() if is_typeddict(v) and v.__module__ == m.__name__]
    shapes: dict[str, Shape] = {}
    while pending:
        typed = pending.pop()
        if typed.__name__ in shapes:
            continue
        shape: Shape = {}
        for key, hint in get_type_hints(typed, localns=HINT_NAMES, include_extras=True).items():
            wrapper = get_origin(hint)
            optional = wrapper is NotRequired or (key in typed.__optional_keys__ and wrapper is not Required)
            if wrapper in (NotRequired, Required):
                hint = get_args(hint)[0]
            shape[key] = (optional, python_type(hint))
            pending.extend(_typeddicts_in(hint))
        shapes[typed.__name__] = shape
    return shapes


def _typeddicts_in(hint: Any) -> Iterator[Any]:
    if is_typeddict(hint):
        yield hint
    for arg in get_args(hint):
        yield from _typeddicts_in(arg)


def _ts_source(text: str | None = None) -> str:
    """api.ts up to the end of its shapes, without comments."""
    text = API_TS.read_text(encoding="utf-8") if text is None else text
    assert END_OF_SHAPES in text, f"api.ts lost its {END_OF_SHAPES!r} line"
    text = text[: text.index(END_OF_SHAPES)]
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def ts_aliases(text: str | None = None) -> dict[str, str]:
    return {m[1]: m[2] for m in re.finditer(r"export\s+type\s+(\w+)\s*=([^;]*);", _ts_source(text))}


def ts_shapes(text: str | None = None) -> dict[str, Shape]:
    source, aliases = _ts_source(text), ts_aliases(text)
    declared = re.findall(r"export\s+interface\s+(\w+)", source)
    found = list(re.finditer(r"export\s+interface\s+(\w+)(?:\s+extends\s+([\w\s,]+?))?\s*\{([^{}]*)\}", source))
    assert [m[1] for m in found] == declared, "api.ts: an interface is not in the documented format"
    own: dict[str, Shape] = {}
    bases: dict[str, list[str]] = {}
    for match in found:
        name, extends, body = match[1], match[2], match[3]
        bases[name] = [b.strip() for b in extends.split(",")] if extends else []
        shape: Shape = {}
        for member in filter(None, (m.strip() for m in body.split(";"))):
            parsed = re.fullmatch(r"(\w+)(\?)?\s*:(.+)", member, flags=re.S)
            assert parsed, f"api.ts: {name}: {member!r} is not `key: type` or `key?: type`"
            shape[parsed[1]] = (parsed[2] == "?", ts_type(parsed[3], aliases))
        own[name] = shape

    def full(name: str) -> Shape:
        merged: Shape = {}
        for base in bases[name]:
            merged.update(full(base))
        return {**merged, **own[name]}

    return {name: full(name) for name in own}


# --- the two sides agree ------------------------------------------------------------------------


def differences(python: dict[str, Shape], typescript: dict[str, Shape]) -> list[str]:
    found = [f"{name}: only in Python" for name in sorted(set(python) - set(typescript))]
    found += [f"{name}: only in api.ts" for name in sorted(set(typescript) - set(python))]
    for name in sorted(set(python) & set(typescript)):
        py, ts = python[name], typescript[name]
        found += [f"{name}.{key}: only in Python" for key in py if key not in ts]
        found += [f"{name}.{key}: only in api.ts" for key in ts if key not in py]
        for key in (k for k in py if k in ts):
            if py[key][0] != ts[key][0]:
                found.append(f"{name}.{key}: optional on one side only")
            if py[key][1] != ts[key][1]:
                found.append(f"{name}.{key}: types differ: {_shown(py[key][1])} vs {_shown(ts[key][1])} in api.ts")
    return found


def _shown(canon: Canon) -> str:
    return " | ".join(sorted(map(str, canon)))


def test_typescript_interfaces_match_the_typeddicts() -> None:
    assert differences(python_shapes(), ts_shapes()) == []


def test_typescript_aliases_are_the_python_literals() -> None:
    aliases = ts_aliases()
    assert aliases, "api.ts declares StatusName and LaneKind"
    for name, text in aliases.items():
        python = next((vars(m)[name] for m in SHAPE_MODULES if name in vars(m)), None)
        assert python is not None, f"api.ts type {name} has no Python alias of that name"
        assert ts_type(text, aliases) == python_type(python), name


def test_status_names_are_the_invocation_statuses() -> None:
    assert get_args(models.StatusName) == tuple(s.value for s in InvocationStatus)


def test_every_view_dataclass_has_the_fields_of_its_shape() -> None:
    views: list[Any] = [v for v in vars(models).values() if isinstance(v, type) and issubclass(v, models.JsonView)]
    assert len(views) > 15
    for view in (v for v in views if v is not models.JsonView):
        (base,) = (b for b in view.__orig_bases__ if get_origin(b) is models.JsonView)
        (shape,) = get_args(base)
        assert shape.__name__ == view.__name__.removesuffix("View") + "Json"
        fields = [f.name for f in dataclasses.fields(view)]
        assert fields == list(get_type_hints(shape, localns=HINT_NAMES)), f"{view.__name__} vs {shape.__name__}"


# --- real answers have exactly those keys and types ----------------------------------------------


class Checker:
    """Checks JSON values against the TypedDicts, remembering which shapes it saw."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def check(self, value: Any, hint: Any, where: str) -> None:
        origin, args = get_origin(hint), get_args(hint)
        if origin in (NotRequired, Required):
            self.check(value, args[0], where)
        elif hint is Any:
            pass
        elif is_typeddict(hint):
            assert isinstance(value, dict), where
            hints = get_type_hints(hint, localns=HINT_NAMES, include_extras=True)
            required = {k for k, h in hints.items() if get_origin(h) is not NotRequired} - hint.__optional_keys__
            assert required <= set(value) <= set(hints), f"{where}: keys {sorted(value)} vs {hint.__name__}"
            self.seen.add(hint.__name__)
            for key, item in value.items():
                self.check(item, hints[key], f"{where}.{key}")
        elif origin in (Union, types.UnionType):
            assert any(self._conforms(value, a, where) for a in args), f"{where}: {value!r} is not {hint}"
        elif origin is Literal:
            assert value in args, f"{where}: {value!r} not in {args}"
        elif origin is list:
            assert isinstance(value, list), where
            for i, item in enumerate(value):
                self.check(item, args[0], f"{where}[{i}]")
        elif origin is dict:
            assert isinstance(value, dict) and all(isinstance(k, str) for k in value), where
            for key, item in value.items():
                self.check(item, args[1], f"{where}[{key!r}]")
        elif hint is float:
            assert isinstance(value, int | float) and not isinstance(value, bool), f"{where}: {value!r}"
        elif hint is int:
            assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r}"
        elif hint in (type(None), None):
            assert value is None, f"{where}: {value!r}"
        else:
            assert isinstance(value, hint), f"{where}: {value!r} is not {hint}"

    def _conforms(self, value: Any, hint: Any, where: str) -> bool:
        try:
            self.check(value, hint, where)
        except AssertionError:
            return False
        return True


def _pasted_log(app: Pynenc, workload: Workload) -> str:
    """Log lines naming the workload's runner (with a worker) and invocations, and one malformed line."""
    runner_id = next(c.runner_id for c in app.state_backend.history(workload.outer) if c.runner_id)
    return (
        f"2026-03-05 07:56:08.002+01:00 INFO     pynenc.app [PR(0badc0de).TR({runner_id[:8]})"
        f"{workload.outer}:tests.outer] calls invocation:{workload.inner}\n"
        f"2026-03-05 07:56:08.003+01:00 INFO     pynenc.app [{'f' * 32}:tests.gone] unknown\n"
        "not a log line"
    )


def test_real_answers_have_exactly_the_keys_and_types_of_their_shapes(
    app: Pynenc, monitor: Monitor, workload: Workload, tmp_path: Path
) -> None:
    # Given a workload (nested call, failure, retry, workflow), an event, a runner and an app catalog
    state = app.state_backend
    add_runner(state, "ThreadRunner", heartbeat=0.0)
    event_id = app.trigger.emit_event("data.ready", {"n": 1})
    # and a trigger run of that event that created one of the workload's invocations
    run = TriggerRun(new_id(), "t-1", "tests.react", "event", event_id, workload.outer, time.time())
    app.trigger_store.add_trigger_runs([run])
    app.trigger_store.put_triggers(
        {"tests.react": {"t-1": '{"conditions": [{"kind": "cron", "expression": "* * * * *"}]}'}}
    )
    catalog = AppCatalog(
        [configured_entry({"app_id": app.app_id, "backend_url": f"sqlite://{tmp_path / 'x.db'}"})], use_registry=False
    )
    try:
        apps = queries.apps(catalog)
    finally:
        catalog.close()
    summary = queries.summary(monitor, {"thread-1": "thread"})
    # and a step log for the workflow: a value step and a task step (as wf.root writes them)
    child = {
        "task_id": "tests.add",
        "call_id": "c",
        "invocation_id": workload.flow_child,
        "attempt": 0,
        "call": "add()",
    }
    for step, entry in enumerate(({"kind": "uuid", "value": "u-1"}, {"kind": "task", "value": child})):
        state.kv_put(WORKFLOW_OPS_NAMESPACE, step_key(workload.flow, step), json.dumps(entry))
    timeline = monitor.timeline(None, None)
    detail_failed = monitor.invocation_detail(workload.failed)
    answers: list[tuple[Any, Any]] = [
        # When every view and every answer is built ...
        (monitor.invocations().to_json(), models.InvocationPageJson),
        (timeline.to_json(), models.TimelineJson),
        (timeline.segments[0].to_json(), models.StatusSegmentJson),
        *((runner.to_json(), models.RunnerJson) for runner in monitor.runners(include_stopped=True)),
        (monitor.family_tree(workload.outer).to_json(), models.FamilyTreeJson),
        (detail_failed.to_json(), models.InvocationDetailJson),
        (monitor.invocation_detail(workload.flow).to_json(), models.InvocationDetailJson),
        (monitor.invocation_detail(workload.inner).to_json(), models.InvocationDetailJson),
        (apps, queries.AppsJson),
        (queries.statuses(), queries.StatusesJson),
        (summary, queries.SummaryJson),
        ({"app": apps["apps"][0], **summary}, queries.AppSummaryJson),  # as handlers.SummaryHandler answers
        (queries.runners(monitor, {}, include_stopped=True), queries.RunnersJson),
        (queries.invocations(monitor, ["FAILED,SUCCESS"], None, "2", None), queries.InvocationsJson),
        (queries.detail(monitor, workload.outer), models.InvocationDetailJson),
        (queries.rerun(app, workload.failed), queries.RerunJson),
        (queries.kill(app, workload.failed), queries.KillJson),  # a final one: left as it is
        (queries.tree(monitor, workload.outer, "3", "true"), queries.FamilyTreeAnswerJson),
        (queries.tree(monitor, workload.outer, "3"), queries.FamilyTreeAnswerJson),
        (queries.timeline(monitor, "all", None, None, [], None, None, "true"), queries.TimelineAnswerJson),
        (queries.tasks(monitor), queries.TasksJson),
        (monitor.events().to_json(), event_models.EventPageJson),
        (monitor.trigger_runs().to_json(), event_models.TriggerRunPageJson),
        *((view.to_json(), event_models.TriggerJson) for view in monitor.triggers()),
        (queries.events(monitor, None, "1h", None, "true", "10", None), queries.EventsJson),
        (queries.trigger_runs(monitor, "t-1", None), queries.TriggerRunsJson),
        (queries.triggers(monitor), queries.TriggersJson),
        (queries.logs(monitor, _pasted_log(app, workload)), queries.LogsAnswerJson),
        (monitor.logs(_pasted_log(app, workload)).to_json(), log_models.LogExplorerJson),
        (monitor.workflows().to_json(), workflow_models.WorkflowPageJson),
        (queries.workflows(monitor, None, [], None, None), queries.WorkflowsJson),
        (queries.workflow(monitor, workload.flow, None, None), workflow_models.WorkflowDetailJson),
    ]
    checker = Checker()
    for value, shape in answers:
        checker.check(value, shape, shape.__name__)
    # Then each matched its shape, and every shape (views and answers) was exercised
    assert detail_failed.exception is not None and timeline.events and timeline.links
    assert monitor.invocation_detail(workload.outer).origin is not None and timeline.events[0].invocation_ids
    assert checker.seen == set(python_shapes())


def test_a_key_on_one_side_only_is_caught() -> None:
    # Given api.ts with a key added to one interface, and one made optional in another
    text = API_TS.read_text(encoding="utf-8")
    changed = text.replace("export interface LinkJson {", "export interface LinkJson {\n  extra: string;", 1)
    changed = changed.replace("  is_root: boolean;", "  is_root?: boolean;", 1)
    assert changed.count("extra: string;") == 1 and "is_root?" in changed
    # When it is compared with the TypedDicts, then both are reported
    python = python_shapes()
    assert set(differences(python, ts_shapes(changed))) - set(differences(python, ts_shapes())) == {
        "LinkJson.extra: only in api.ts",
        "WorkflowJson.is_root: optional on one side only",
    }
