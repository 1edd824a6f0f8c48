"""Writes the example notebooks from this source, so their code is reviewed as code.

Run ``python tools/make_notebooks.py`` after editing; the test suite executes every notebook.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
KERNEL_METADATA = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}


def engine_basics() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(
            "# The engine in a notebook\n\n"
            "Tasks defined in cells, a `ThreadRunner` inside this kernel, and the embedded SQLite backend "
            "(`.pynenc/engine_basics.db` next to the notebook). Runners in other processes and kernels "
            "(`%pynenc runner start`) come with the notebook layer."
        ),
        new_code_cell(
            "%load_ext pynenc_nb\n"
            "from pynenc_nb import Pynenc, RetryError, ThreadRunner\n\n"
            'app = Pynenc(app_id="engine_basics")\n'
            "app.purge()  # start from an empty history each time the notebook runs"
        ),
        new_code_cell(
            "@app.task\n"
            "def add(x: int, y: int) -> int:\n"
            "    return x + y\n\n\n"
            "@app.task(max_retries=2)\n"
            "def needs_retries(times: int) -> str:\n"
            "    from pynenc_nb import current_invocation\n"
            "    done = current_invocation().num_retries\n"
            "    if done < times:\n"
            '        raise RetryError(f"attempt {done + 1} is too early")\n'
            '    return f"done after {done} retries"\n\n\n'
            "@app.task\n"
            "def divide(x: float, y: float) -> float:\n"
            "    return x / y"
        ),
        new_code_cell("runner = ThreadRunner(app, max_threads=2)\nrunner.start_in_thread();"),
        new_code_cell("inv = add(1, 2)\nassert inv.result == 3\ninv"),
        new_code_cell(
            "group = add.parallelize([(i, i) for i in range(20)])\n"
            "results = sorted(group.results)\n"
            "assert results == [2 * i for i in range(20)]\n"
            "group"
        ),
        new_code_cell("needs_retries(2).result"),
        new_code_cell(
            "try:\n"
            "    divide(1, 0).result\n"
            "except ZeroDivisionError as error:\n"
            '    print("raised in the caller with its original type:", repr(error))\n'
            "    print(error.__notes__[0].splitlines()[-1])"
        ),
        new_code_cell("%pynenc status"),
        new_code_cell("runner.stop()"),
    ]
    return new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )


def quickstart() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(
            "# Quickstart\n\n"
            "Define tasks in a cell, start runners in background processes with one magic, and fan work out. "
            "Everything lives in the embedded SQLite default (`.pynenc/quickstart.db` next to this notebook): "
            "no server to install."
        ),
        new_code_cell(
            "%load_ext pynenc_nb\n"
            "from pynenc_nb import Pynenc, RetryError\n\n"
            'app = Pynenc(app_id="quickstart")\n'
            "app.purge()  # a clean history each time the notebook runs"
        ),
        new_markdown_cell(
            "Tasks defined in a notebook cell are shipped to runners by value (with the helpers and imports they "
            "use), so the runners need no module to import."
        ),
        new_code_cell(
            "import math\n\n"
            "OFFSET = 1\n\n\n"
            "def shifted(x: float) -> float:\n"
            "    return x + OFFSET\n\n\n"
            "@app.task\n"
            "def score(chunk: int) -> float:\n"
            "    return round(math.sqrt(shifted(chunk)), 3)\n\n\n"
            "@app.task(max_retries=2)\n"
            "def fetch(url: str) -> str:\n"
            "    from pynenc_nb import current_invocation\n"
            "    attempt = current_invocation().num_retries + 1\n"
            "    if attempt < 3:\n"
            '        raise RetryError(f"{url}: temporary error on attempt {attempt}")\n'
            '    return f"{url}: ok after {attempt} attempts"\n\n\n'
            "@app.task\n"
            "def parse(text: str) -> int:\n"
            "    return int(text)"
        ),
        new_markdown_cell("Two runner processes, each with two worker threads:"),
        new_code_cell(
            "%pynenc runner start --kind process --workers 2 --name worker-a\n%pynenc runner start --kind process --workers 2 --name worker-b"
        ),
        new_code_cell("%pynenc runner list"),
        new_code_cell("score(15).result"),
        new_markdown_cell("`parallelize` registers many calls at once; `.results` yields them as they complete."),
        new_code_cell(
            "group = score.parallelize([(i,) for i in range(100)])\n"
            "results = list(group.results)\n"
            "assert sorted(results) == sorted(round(math.sqrt(i + 1), 3) for i in range(100))\n"
            "group"
        ),
        new_markdown_cell(
            "A group shown in a cell (`display(group)`, or as the cell's last expression) is a live progress "
            "bar: done, failed, running and queued, with the rate. `wait_interactive()` shows it and blocks "
            "until every call is final."
        ),
        new_code_cell("big = score.parallelize([(i,) for i in range(300)])\nbig.wait_interactive()"),
        new_markdown_cell(
            "A cell task can call other cell tasks, directly or with `parallelize`: their code travels with "
            "it, so the runners find them without anything being called from the notebook first. The inner "
            "calls run on the runners too, and the outer task's slot is given back while it waits."
        ),
        new_code_cell(
            "@app.task\n"
            "def square(x: int) -> int:\n"
            "    return x * x\n"
            "\n\n"
            "@app.task\n"
            "def sum_of_squares(n: int) -> int:\n"
            "    return sum(square.parallelize([(i,) for i in range(n)]).results)\n"
            "\n\n"
            "assert sum_of_squares(10).result == sum(i * i for i in range(10))\n"
            "sum_of_squares(10)"
        ),
        new_markdown_cell("A failure comes back with its original type, and the runner's traceback attached:"),
        new_code_cell(
            "try:\n"
            '    parse("not a number").result\n'
            "except ValueError as error:\n"
            "    print(type(error).__name__, error)\n"
            "    print(error.__notes__[0])"
        ),
        new_markdown_cell("`RetryError` asks for another attempt, up to `max_retries`:"),
        new_code_cell('attempts = fetch("https://example.org/feed")\nattempts.result, attempts.num_retries'),
        new_markdown_cell("Redefine a task and run the cell again: new calls use the new code at once."),
        new_code_cell(
            "@app.task\n"
            "def score(chunk: int) -> float:\n"
            "    return float(chunk * 100)\n\n\n"
            "assert score(3).result == 300.0\n"
            "score(3)"
        ),
        new_code_cell("%pynenc status"),
        new_code_cell("%pynenc runner stop --all"),
    ]
    return new_notebook(cells=cells, metadata=KERNEL_METADATA)


def runners() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(
            "# Runners\n\n"
            "Every way to run tasks from a notebook: `thread` (inside this kernel), `process` (a local "
            "`pynenc runner start` process), `kernel` (a background Jupyter kernel — listed in JupyterLab's "
            "running-kernels panel when this notebook runs under JupyterLab) and `remote` (any command "
            "template, e.g. over ssh; here a local command stands in for the remote host)."
        ),
        new_code_cell(
            "%load_ext pynenc_nb\n"
            "import os\n"
            "from pynenc_nb import Pynenc\n\n"
            'app = Pynenc(app_id="runners_tour")\n'
            "app.purge()\n\n\n"
            "@app.task\n"
            "def where(tag: str) -> dict:\n"
            '    return {"tag": tag, "pid": os.getpid()}'
        ),
        new_code_cell("%pynenc runner start --kind thread --workers 2 --name in-kernel"),
        new_code_cell('in_kernel = where("thread").result\nassert in_kernel["pid"] == os.getpid()\nin_kernel'),
        new_code_cell("%pynenc runner stop in-kernel"),
        new_markdown_cell("A process runner; its log is kept under `.pynenc/runners/`:"),
        new_code_cell("%pynenc runner start --kind process --name proc"),
        new_code_cell(
            'from_process = where("process").result\nassert from_process["pid"] != os.getpid()\nfrom_process'
        ),
        new_code_cell("%pynenc runner logs proc --tail 5"),
        new_code_cell("%pynenc runner stop proc"),
        new_markdown_cell("A background kernel:"),
        new_code_cell("%pynenc runner start --kind kernel --name bg-kernel"),
        new_code_cell('from_kernel = where("kernel").result\nassert from_kernel["pid"] != os.getpid()\nfrom_kernel'),
        new_markdown_cell("Redefining the task: the kernel runner picks up the new code for new calls."),
        new_code_cell(
            "@app.task\n"
            "def where(tag: str) -> dict:\n"
            '    return {"tag": tag.upper(), "pid": os.getpid(), "version": 2}\n\n\n'
            'redefined = where("kernel").result\n'
            'assert redefined["version"] == 2 and redefined["tag"] == "KERNEL"\n'
            "redefined"
        ),
        new_code_cell("%pynenc runner stop bg-kernel"),
        new_markdown_cell(
            "A remote runner is started from a command template, given as an argument list (never a shell string). "
            "`{python}` is this kernel's interpreter and `{runner_args}` the arguments of `pynenc runner start`; "
            "the app's settings travel in the environment, never on the command line. On a real cluster: "
            "`--command 'ssh -o SendEnv=PYNENC__* HOST {python} -m pynenc_nb {runner_args}'`."
        ),
        new_code_cell("%pynenc runner start --kind remote --name far --command '{python} -m pynenc_nb {runner_args}'"),
        new_code_cell('where("remote").result'),
        new_code_cell("%pynenc runner list"),
        new_code_cell("%pynenc runner stop --all"),
    ]
    return new_notebook(cells=cells, metadata=KERNEL_METADATA)


def monitoring() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(
            "# Monitoring\n\n"
            "Live widgets in the notebook: a timeline of what runs where, the family tree of an invocation and a "
            "monitor with everything at once. They update from a background thread of this kernel while anything "
            "they show can still change, then leave a static Plotly figure in place, so this notebook still shows "
            "the final pictures once saved (on GitHub, in nbconvert's HTML, without a kernel)."
        ),
        new_code_cell(
            "%load_ext pynenc_nb\n"
            "import time\n\n"
            "from pynenc_nb import Pynenc, RetryError, current_invocation\n\n"
            'app = Pynenc(app_id="monitoring")\n'
            "app.purge()  # a clean history each time the notebook runs"
        ),
        new_markdown_cell(
            "A survey fans out to batches, and each batch to measurements: nested calls (a task waiting on its "
            "children is paused and frees its slot). `calibrate` always fails; `download` needs a retry."
        ),
        new_code_cell(
            "@app.task\n"
            "def measure(sample: int) -> float:\n"
            "    time.sleep(0.4 + 0.2 * (sample % 4))  # an instrument takes its time: 0.4 to 1 s\n"
            "    return round(sample**0.5, 3)\n\n\n"
            "@app.task\n"
            "def batch(batch_id: int, size: int) -> float:\n"
            "    time.sleep(0.2)  # preparing the batch\n"
            "    samples = [(batch_id * 10 + i,) for i in range(size)]\n"
            "    return round(sum(measure.parallelize(samples).results), 3)\n\n\n"
            "@app.workflow\n"
            "def survey(batches: int) -> float:\n"
            "    return round(sum(batch.parallelize([(b, 6) for b in range(batches)]).results), 3)\n\n\n"
            "@app.task\n"
            "def calibrate(sensor: str) -> float:\n"
            '    raise ValueError(f"sensor {sensor!r} does not answer")\n\n\n'
            "@app.task(max_retries=2)\n"
            "def download(url: str) -> str:\n"
            "    attempt = current_invocation().num_retries + 1\n"
            "    if attempt < 2:\n"
            '        raise RetryError(f"{url}: busy, try again")\n'
            '    return f"{url}: downloaded on attempt {attempt}"'
        ),
        new_markdown_cell("A runner in this kernel with four worker threads:"),
        new_code_cell("%pynenc runner start --workers 4"),
        new_markdown_cell(
            "The timeline: a strip on top counting what waits in the queue, then one lane group per runner "
            "(a row per worker slot, a thin row for paused invocations), bars coloured by task, a line from a "
            "parent to the children it called (one per parent of many), a star on the workflow root. Hover a bar for the task, its arguments and durations; click it to see the invocation below "
            "the plot. `%pynenc timeline --since 5m` shows the same; the class also takes `interval_s` (at most one "
            "update per interval) and `grace_s` (how long it stays live once everything shown is final, 5 s by "
            "default)."
        ),
        new_code_cell(
            'from pynenc_nb.widgets import Timeline\n\ntimeline = Timeline(app, since="5m", grace_s=1)\ntimeline'
        ),
        new_code_cell(
            "root = survey(4)\n"
            'failing = calibrate("north-7")\n'
            'retried = download("https://example.org/data.csv")\n'
            'print("survey:", root.result)\n'
            'print("download:", retried.result, "- retries:", retried.num_retries)\n'
            'print("calibrate:", failing.wait(timeout=60))'
        ),
        new_markdown_cell(
            "Once everything shown is final and nothing changed for a few seconds, the live figure gives way to "
            "the static one. `join` waits for that; `updates_sent` counts the updates the widget sent."
        ),
        new_code_cell(
            'assert timeline.join(timeout=60)\nprint(timeline.ended_because, "after", timeline.updates_sent, "updates")'
        ),
        new_markdown_cell(
            "An invocation shows as a card whose status badge follows it (here it is already final: a static card):"
        ),
        new_code_cell("failing"),
        new_markdown_cell(
            "The family tree of the survey: `root` is a variable holding its invocation (an id works too)."
        ),
        new_code_cell("%pynenc tree root"),
        new_markdown_cell(
            "Everything at once: counts by status, then tabs with the timeline, the runners and the family tree of "
            "the invocation you click."
        ),
        new_code_cell("%pynenc monitor"),
        new_code_cell("%pynenc runner stop --all"),
        new_markdown_cell(
            "Before saving a notebook to share, freeze the widgets that are still live: each leaves its final "
            "static figure."
        ),
        new_code_cell("from pynenc_nb.widgets import freeze_all\n\nfreeze_all()"),
    ]
    return new_notebook(cells=cells, metadata=KERNEL_METADATA)


def triggers() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(
            "# Triggers\n\n"
            "Declare, on the task that should run, what makes it run: a cron schedule, an event, or another "
            "task's status, result or exception. Runners evaluate triggers in their background services (a few "
            "times a second), and each occurrence fires each matching trigger exactly once, however many "
            "runners there are. Argument providers and filters are named functions; defined in a cell, they are "
            "shipped to the runners like cell tasks."
        ),
        new_code_cell(
            "%load_ext pynenc_nb\n"
            "from typing import Any\n\n"
            "from pynenc_nb import InvocationStatus, Pynenc, TriggerBuilder\n"
            "from pynenc_nb.trigger.conditions.event import EventContext\n"
            "from pynenc_nb.trigger.conditions.exception import ExceptionContext\n"
            "from pynenc_nb.trigger.conditions.status import StatusContext\n\n"
            'app = Pynenc(app_id="triggers_tour")\n'
            "app.purge()  # a clean history each time the notebook runs"
        ),
        new_markdown_cell("A **cron** trigger: every five minutes (UTC), with static arguments."),
        new_code_cell(
            '@app.task(triggers=TriggerBuilder().on_cron("*/5 * * * *").with_args_static({"source": "scheduled"}))\n'
            "def refresh(source: str) -> str:\n"
            '    return f"refreshed from {source}"'
        ),
        new_markdown_cell(
            "An **event** with a payload filter and an argument provider: CSV uploads only, the path from the payload."
        ),
        new_code_cell(
            "def args_from_upload(ctx: EventContext) -> dict[str, Any]:\n"
            '    return {"path": ctx.payload["path"]}\n\n\n'
            "@app.task(\n"
            '    triggers=TriggerBuilder().on_event("file_uploaded", {"kind": "csv"}).with_args_from_event(args_from_upload)\n'
            ")\n"
            "def load_csv(path: str) -> str:\n"
            '    return f"loaded {path}"'
        ),
        new_markdown_cell("A **status chain**: publishing follows every successful cleaning of a public dataset."),
        new_code_cell(
            "@app.task\n"
            "def clean(dataset: str, visibility: str) -> str:\n"
            '    return f"{dataset} cleaned"\n\n\n'
            "def args_from_cleaning(ctx: StatusContext) -> dict[str, Any]:\n"
            '    return {"dataset": ctx.arguments.kwargs["dataset"]}\n\n\n'
            "@app.task(\n"
            "    triggers=TriggerBuilder()\n"
            '    .on_status(clean, statuses=[InvocationStatus.SUCCESS], call_arguments={"visibility": "public"})\n'
            "    .with_args_from_status(args_from_cleaning)\n"
            ")\n"
            "def publish(dataset: str) -> str:\n"
            '    return f"{dataset} published"'
        ),
        new_markdown_cell("**Exception compensation**: a declined payment (a `ValueError` subclass) is refunded."),
        new_code_cell(
            "class PaymentDeclined(ValueError):\n"
            "    pass\n\n\n"
            "@app.task\n"
            "def charge(order: str) -> str:\n"
            '    raise PaymentDeclined(f"card declined for {order}")\n\n\n'
            "def args_from_failure(ctx: ExceptionContext) -> dict[str, Any]:\n"
            '    return {"order": ctx.arguments.kwargs["order"], "reason": ctx.exception_message}\n\n\n'
            "@app.task(triggers=TriggerBuilder().on_exception(charge, [ValueError]).with_args_from_exception(args_from_failure))\n"
            "def refund(order: str, reason: str) -> str:\n"
            '    return f"refunded {order}: {reason}"'
        ),
        new_markdown_cell(
            "An **AND composite**: the month's report runs once both the books are closed (an event) and the last "
            "load succeeded, within `trigger_composite_window_s` of each other."
        ),
        new_code_cell(
            '@app.task(triggers=TriggerBuilder().on_event("month_closed").on_any_result(load_csv).with_logic("and"))\n'
            "def monthly_report() -> str:\n"
            '    return "report ready"'
        ),
        new_markdown_cell("Start a runner in its own process: it evaluates the triggers and runs what they create."),
        new_code_cell("%pynenc runner start --kind process --name triggers"),
        new_code_cell(
            '%pynenc emit file_uploaded {"kind": "csv", "path": "sales.csv"}\n'
            '%pynenc emit file_uploaded {"kind": "pdf", "path": "notes.pdf"}'
        ),
        new_code_cell(
            "(run,) = app.trigger.wait_for_runs(load_csv)\n"
            "loaded = app.invocation(run.invocation_id).result\n"
            'assert loaded == "loaded sales.csv"  # the PDF did not pass the filter\n'
            "loaded"
        ),
        new_code_cell(
            'clean("sales", "public").result, clean("drafts", "private").result\n'
            "(run,) = app.trigger.wait_for_runs(publish)\n"
            "app.invocation(run.invocation_id).result"
        ),
        new_code_cell(
            'failed = charge("order-7")\n'
            "try:\n"
            "    failed.result\n"
            "except PaymentDeclined as error:\n"
            '    print("charge failed:", error)\n'
            "(run,) = app.trigger.wait_for_runs(refund)\n"
            "app.invocation(run.invocation_id).result"
        ),
        new_code_cell(
            'app.trigger.emit_event("month_closed", {"month": "2026-11"})\n'
            "(run,) = app.trigger.wait_for_runs(monthly_report)\n"
            "app.invocation(run.invocation_id).result"
        ),
        new_markdown_cell("The events browser: each event with the invocations its triggers created."),
        new_code_cell("%pynenc events"),
        new_code_cell("%pynenc runner stop --all"),
    ]
    return new_notebook(cells=cells, metadata=KERNEL_METADATA)


def workflows() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(
            "# Durable workflows\n\n"
            "A `@app.workflow` task is the root of a workflow; what it calls belongs to it. Everything that "
            "could differ on another attempt goes through `wf.root`: `uuid()`, `random()`, `utc_now()` and "
            "`execute_task(task, ...)`. Each is recorded on the first attempt and replayed on every later one "
            "(a retry, a recovery after a runner died), so children that succeeded are not run again."
        ),
        new_code_cell(
            "%load_ext pynenc_nb\n"
            "from pathlib import Path\n\n"
            "from pynenc_nb import Pynenc, RetryError\n\n"
            'app = Pynenc(app_id="workflows_tour")\n'
            "app.purge()\n"
            'ACTIVITY_LOG = Path("activities.log").resolve()\n'
            'ACTIVITY_LOG.write_text("")'
        ),
        new_markdown_cell("Three activities; each notes in a file that it ran, so we can count."),
        new_code_cell(
            "def note(line: str) -> None:\n"
            '    with open(ACTIVITY_LOG, "a") as file:\n'
            '        file.write(line + "\\n")\n\n\n'
            "@app.task\n"
            "def reserve(order_id: str, items: list) -> int:\n"
            '    note(f"reserve {order_id}")\n'
            "    return len(items)\n\n\n"
            "@app.task\n"
            "def charge(order_id: str, amount: float) -> str:\n"
            '    note(f"charge {order_id}")\n'
            '    return f"receipt-{order_id[:8]}"\n\n\n'
            "@app.task\n"
            "def ship(order_id: str) -> str:\n"
            '    note(f"ship {order_id}")\n'
            '    region = ship.wf.get_data("region")  # workflow data, set by the root\n'
            '    return f"shipped {order_id[:8]} from {region}"'
        ),
        new_markdown_cell(
            "The workflow: an order id from `uuid()`, the time from `utc_now()`, the three activities, and a "
            "sub-workflow for the invoice. It fails once on purpose after the activities ran; the retry replays."
        ),
        new_code_cell(
            "@app.workflow\n"
            "def invoice(order_id: str) -> str:\n"
            '    return f"invoice {invoice.wf.root.uuid()[:8]} for {order_id[:8]}"\n\n\n'
            "@app.workflow(max_retries=1)\n"
            "def fulfil(items: list) -> dict:\n"
            "    root = fulfil.wf.root\n"
            "    order_id = root.uuid()\n"
            "    placed_at = root.utc_now()\n"
            '    fulfil.wf.set_data("region", "eu-west")\n'
            "    reserved = root.execute_task(reserve, order_id, items)\n"
            "    receipt = root.execute_task(charge, order_id, 9.5 * reserved)\n"
            "    shipment = root.execute_task(ship, order_id)\n"
            "    bill = root.execute_task(invoice, order_id)\n"
            '    if fulfil.wf.get_data("failed_once") is None:\n'
            '        fulfil.wf.set_data("failed_once", True)\n'
            '        raise RetryError("a transient failure after the activities ran")\n'
            '    return {"order": order_id, "placed_at": placed_at.isoformat(), "receipt": receipt,\n'
            '            "shipment": shipment, "invoice": bill}'
        ),
        new_code_cell("%pynenc runner start --kind process --name wf"),
        new_code_cell('order = fulfil(["book", "lamp"])\nresult = order.result\nresult'),
        new_markdown_cell(
            "The root was attempted twice (it pauses while it waits on each child, freeing its slot); each "
            "activity ran once:"
        ),
        new_code_cell(
            "history = [change.status.value for change in app.state_backend.history(order.invocation_id)]\n"
            'assert history.count("RETRY") == 1 and history[-1] == "SUCCESS", history\n'
            "ran = ACTIVITY_LOG.read_text().splitlines()\n"
            "assert len(ran) == 3, ran\n"
            "history, ran"
        ),
        new_code_cell("%pynenc runner stop --all"),
    ]
    return new_notebook(cells=cells, metadata=KERNEL_METADATA)


def _content(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def write(nb: nbformat.NotebookNode, name: str) -> None:
    """Write a notebook unless the file already holds the same cells: cell ids are random, and an
    unchanged notebook must stay byte for byte what it was."""
    path = NOTEBOOKS / name
    if path.exists() and _content(nbformat.read(path, as_version=4)) == _content(nb):
        return
    nbformat.write(nb, path)


def main() -> None:
    NOTEBOOKS.mkdir(exist_ok=True)
    write(engine_basics(), "00_engine_basics.ipynb")
    write(quickstart(), "01_quickstart.ipynb")
    write(runners(), "02_runners.ipynb")
    write(monitoring(), "03_monitoring.ipynb")
    write(triggers(), "04_triggers.ipynb")
    write(workflows(), "05_workflows.ipynb")


if __name__ == "__main__":
    main()
