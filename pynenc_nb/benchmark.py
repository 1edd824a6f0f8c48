"""``pynenc benchmark``: end-to-end throughput and round-trip latency of no-op tasks.

One runner process (``pynenc runner start``) with ``workers`` slots serves this process, which
registers the tasks and waits for their results, exactly as a user's code would. ``memory:``
cannot serve another process, so it is measured with a ThreadRunner in this process.

On MongoDB it counts server commands per task and, after the run, per second of an idle runner
(``serverStatus`` opcounters). On Redis the same run also counts server commands per task (``INFO commandstats``) and measures a
raw redis-py floor: a producer LPUSHes items, a consumer *process* BRPOPs each and SETs a result,
the producer GETs the results — four commands per item, the least any task queue with results
can do. Our figures are reported as a ratio to it, so they mean something on any machine.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pynenc_nb.conf.urls import redact_url, scheme_of
from pynenc_nb.exceptions import RunnerError


def _wait_for_runner(app: Any, process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RunnerError(f"the benchmark runner exited with code {process.returncode}")
        if any(r.state == "running" for r in app.state_backend.runners()):
            return
        time.sleep(0.05)
    raise RunnerError("the benchmark runner did not register within 30 s")


def _load_app(env: dict[str, str]) -> Any:
    """``pynenc_nb.benchmark_tasks`` rebuilt with ``env``: the same app the runner process loads."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        import pynenc_nb.benchmark_tasks as bench_tasks

        return importlib.reload(bench_tasks)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _runner(app: Any, env: dict[str, str], workers: int, in_process: bool) -> Iterator[str]:
    """A runner with ``workers`` slots: a ``pynenc runner start`` process, or a thread for memory:."""
    if in_process:
        from pynenc_nb.runners.thread import ThreadRunner

        runner = ThreadRunner(app, max_threads=workers)
        runner.start_in_thread()
        try:
            yield "in-process ThreadRunner (memory: serves no other process)"
        finally:
            runner.stop()
        return
    process = subprocess.Popen(
        [sys.executable, "-m", "pynenc_nb", "--app", "pynenc_nb.benchmark_tasks:app", "runner", "start"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("PYNENC__")}, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_runner(app, process)
        yield "one runner process (pynenc runner start)"
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def commandstats(client: Any) -> Counter[str]:
    """Commands the server has run so far, by name (those inside Lua scripts included)."""
    stats = client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})


def _floor_consumer(url: str, queue: str, items: int, reply_list: bool = False) -> None:
    """BRPOP each item and answer it: SET of a result key, or LPUSH on one reply list (latency)."""
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    for _ in range(items):
        popped = client.brpop([queue], timeout=30)
        if popped is None:
            return
        item = popped[1] if isinstance(popped[1], str) else popped[1].decode()
        if reply_list:
            client.lpush(f"{queue}:r", item)
        else:
            client.set(f"{queue}:r:{item}", item)


def redis_floor_latency(url: str, calls: int) -> float:
    """p50 ms of one item through the simplest redis-py queue, sequentially: LPUSH, BRPOP + LPUSH
    in another process, BLPOP of the reply (four commands, no polling)."""
    import multiprocessing

    import redis

    from pynenc_nb.records import new_id

    producer = redis.Redis.from_url(url, decode_responses=True)
    queue = f"pynenc-floor-{new_id()[:8]}"
    echo = multiprocessing.get_context("spawn").Process(target=_floor_consumer, args=(url, queue, calls, True))
    echo.start()
    latencies = []
    try:
        for i in range(calls):
            t0 = time.perf_counter()
            producer.lpush(queue, str(i))
            producer.blpop([f"{queue}:r"], timeout=30)
            latencies.append((time.perf_counter() - t0) * 1000)
    finally:
        echo.join(10)
        if echo.is_alive():
            echo.kill()
        producer.delete(queue, f"{queue}:r")
    return round(statistics.median(latencies[min(20, calls // 2) :]), 3)  # the first calls wait for the process


def redis_floor(url: str, items: int) -> dict[str, Any]:
    """Items per second and commands per item of the simplest redis-py queue with results."""
    import multiprocessing

    import redis

    from pynenc_nb.records import new_id

    producer = redis.Redis.from_url(url, decode_responses=True)
    queue = f"pynenc-floor-{new_id()[:8]}"
    before = commandstats(producer)
    consumer = multiprocessing.get_context("spawn").Process(target=_floor_consumer, args=(url, queue, items))
    consumer.start()
    try:
        producer.brpop([f"{queue}:never"], timeout=0.5)  # let the consumer process start before the clock
        started = time.perf_counter()
        for i in range(items):
            producer.lpush(queue, str(i))
        for i in range(items):
            while producer.get(f"{queue}:r:{i}") != str(i):
                time.sleep(0.0005)  # results come in order; almost always there at the first GET
        elapsed = time.perf_counter() - started
    finally:
        consumer.join(10)
        if consumer.is_alive():
            consumer.kill()
    delta = commandstats(producer) - before
    delta.pop("info", None)
    producer.delete(*[f"{queue}:r:{i}" for i in range(items)], queue)
    return {
        "floor_tasks_per_s": round(items / elapsed, 1),
        "floor_commands_per_task": round(sum(delta.values()) / items, 1),
    }


def _pika_consumer(amqp_url: str, redis_url: str, queue: str, items: int, reply_list: bool = False) -> None:
    """Consume each item (prefetch 1, manual ack) and answer it over Redis: SET, or LPUSH (latency)."""
    import pika
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=1)
    for done, (method, _properties, body) in enumerate(channel.consume(queue, inactivity_timeout=30), start=1):
        if method is None:
            break
        item = body.decode()
        if reply_list:
            client.lpush(f"{queue}:r", item)
        else:
            client.set(f"{queue}:r:{item}", item)
        channel.basic_ack(method.delivery_tag)
        if done == items:
            break
    connection.close()


def _pika_producer(amqp_url: str, queue: str) -> Any:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True, arguments={"x-max-priority": 9})
    channel.confirm_delivery()
    return connection, channel


def pika_floor(amqp_url: str, redis_url: str, items: int, latency_calls: int) -> dict[str, Any]:
    """The simplest pika queue with results over Redis: each item published persistent with a
    confirm, consumed and acked by another process, its result SET (GET by the producer); and the
    same sequentially (the reply on a Redis list) for the round-trip p50."""
    import multiprocessing

    import pika
    import redis

    from pynenc_nb.records import new_id

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    context = multiprocessing.get_context("spawn")
    queue = f"pynenc-floor-{new_id()[:8]}"
    connection, channel = _pika_producer(amqp_url, queue)
    persistent = pika.BasicProperties(delivery_mode=2)
    consumer = context.Process(target=_pika_consumer, args=(amqp_url, redis_url, queue, items))
    consumer.start()
    try:
        time.sleep(0.5)  # let the consumer process start before the clock
        started = time.perf_counter()
        for i in range(items):
            channel.basic_publish("", queue, str(i).encode(), persistent)
        for i in range(items):
            while client.get(f"{queue}:r:{i}") != str(i):
                time.sleep(0.0005)
        elapsed = time.perf_counter() - started
    finally:
        consumer.join(10)
        if consumer.is_alive():
            consumer.kill()
    client.delete(*[f"{queue}:r:{i}" for i in range(items)])
    echo = context.Process(target=_pika_consumer, args=(amqp_url, redis_url, queue, latency_calls, True))
    echo.start()
    latencies = []
    try:
        for i in range(latency_calls):
            t0 = time.perf_counter()
            channel.basic_publish("", queue, str(i).encode(), persistent)
            client.blpop([f"{queue}:r"], timeout=30)
            latencies.append((time.perf_counter() - t0) * 1000)
    finally:
        echo.join(10)
        if echo.is_alive():
            echo.kill()
        channel.queue_delete(queue)
        connection.close()
        client.delete(f"{queue}:r")
    return {
        "floor_kind": "pika",
        "floor_tasks_per_s": round(items / elapsed, 1),
        "floor_latency_p50_ms": round(statistics.median(latencies[min(20, latency_calls // 2) :]), 3),
    }


def run_benchmark(
    backend_url: str | None,
    *,
    tasks: int = 2000,
    workers: int = 1,
    latency_calls: int = 200,
    broker_url: str | None = None,
) -> dict[str, Any]:
    """``broker_url``: a broker beside the state backend (``amqp://…``); with Redis state the run
    also measures the raw pika floor (``pika_floor``)."""
    url = backend_url or f"sqlite://{Path(tempfile.mkdtemp(prefix='pynenc-bench-')) / 'bench.db'}"
    env = {
        "PYNENC__APP_ID": "pynenc-benchmark",
        "PYNENC__BACKEND_URL": url,
        **({"PYNENC__BROKER_URL": broker_url} if broker_url else {}),
        "PYNENC__RUNNER_CLS": "ThreadRunner",
        "PYNENC__MAX_THREADS": str(workers),
        "PYNENC__LOGGING_LEVEL": "warning",
        "PYNENC__DISCOVERABLE": "false",  # a throwaway app: keep it out of the monitors' app registry
    }
    bench = _load_app(env)
    app, noop = bench.app, bench.noop
    app.purge()  # a backend reused across runs starts empty
    try:
        with _runner(app, env, workers, in_process=scheme_of(url) == "memory") as runner_kind:
            for i in range(20):  # warm up connections and code paths
                _ = noop(i).result

            stats = _stats_client(url)
            mongo = _mongo_client(url)
            commands_before = commandstats(stats) if stats is not None else None
            mongo_before = opcounters(mongo) if mongo is not None else None
            start = time.perf_counter()
            group = noop.parallelize([(i,) for i in range(tasks)])
            registered = time.perf_counter()
            count = sum(1 for _ in group.results)
            elapsed = time.perf_counter() - start
            if count != tasks:
                raise RunnerError(f"benchmark lost results: {count} of {tasks}")
            extra: dict[str, Any] = {}
            if stats is not None and commands_before is not None:
                delta = commandstats(stats) - commands_before
                delta.pop("info", None)
                extra["commands_per_task"] = round(sum(delta.values()) / tasks, 1)
            if mongo is not None and mongo_before is not None:
                extra["mongo_commands_per_task"] = round((opcounters(mongo) - mongo_before) / tasks, 1)
                extra["idle_commands_per_s"] = mongo_idle_rate(mongo)

            latencies = []
            for i in range(latency_calls):
                t0 = time.perf_counter()
                _ = noop(i).result
                latencies.append((time.perf_counter() - t0) * 1000)
        latencies.sort()
        amqp = broker_url is not None and scheme_of(broker_url) in ("amqp", "amqps")
        if amqp and stats is not None and broker_url is not None:
            extra.pop("commands_per_task", None)  # the Redis commands of the state alone: not comparable
            extra.update(pika_floor(broker_url, url, tasks, latency_calls))
            extra["ratio_to_floor"] = round(tasks / elapsed / extra["floor_tasks_per_s"], 2)
        elif stats is not None:
            extra.update(redis_floor(url, tasks))
            extra["ratio_to_floor"] = round(tasks / elapsed / extra["floor_tasks_per_s"], 2)
            extra["floor_latency_p50_ms"] = redis_floor_latency(url, latency_calls)
        return {
            "backend": redact_url(url),
            **({"broker": redact_url(broker_url)} if broker_url else {}),
            "runner": runner_kind,
            "tasks": tasks,
            "workers": workers,
            "throughput_tasks_per_s": round(tasks / elapsed, 1),
            "registration_s": round(registered - start, 3),
            "total_s": round(elapsed, 3),
            "latency_calls": latency_calls,
            "latency_p50_ms": round(statistics.median(latencies), 3),
            "latency_p95_ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 3),
            **extra,
        }
    finally:
        app.purge()
        app.close()


def _stats_client(url: str) -> Any:
    """A client for ``INFO commandstats`` when the backend is Redis, else None."""
    if scheme_of(url) not in ("redis", "rediss"):
        return None
    import redis

    return redis.Redis.from_url(url, decode_responses=True)


def _mongo_client(url: str) -> Any:
    """A client for ``serverStatus`` when the backend is MongoDB, else None."""
    if scheme_of(url) not in ("mongodb", "mongodb+srv"):
        return None
    import pymongo

    return pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)


def opcounters(client: Any) -> int:
    """Operations the server has served (``serverStatus`` opcounters: every command a client sends)."""
    counters = client.admin.command("serverStatus")["opcounters"]
    return int(sum(int(v) for k, v in counters.items() if k in MONGO_OPS))


MONGO_OPS = ("insert", "query", "update", "delete", "getmore", "command")
IDLE_WINDOW_S = 5.0


def mongo_idle_rate(client: Any) -> float:
    """Commands per second the server serves while the runner waits with nothing to do (the
    benchmark's two ``serverStatus`` calls taken out)."""
    before = opcounters(client)
    time.sleep(IDLE_WINDOW_S)
    return round((opcounters(client) - before - 1) / IDLE_WINDOW_S, 1)


def format_report(report: dict[str, Any]) -> str:
    broker = f" + broker {report['broker']}" if "broker" in report else ""
    text = (
        f"backend {report['backend']}{broker}: {report['tasks']} no-op tasks, {report['runner']} with "
        f"{report['workers']} slot(s)\n"
        f"  throughput   {report['throughput_tasks_per_s']:>10.1f} tasks/s  ({report['total_s']} s, "
        f"registration {report['registration_s']} s)\n"
        f"  round trip   p50 {report['latency_p50_ms']:.3f} ms   p95 {report['latency_p95_ms']:.3f} ms"
        f"  ({report['latency_calls']} sequential calls)"
    )
    if "commands_per_task" in report:
        text += f"\n  server       {report['commands_per_task']:.1f} Redis commands per task"
    if "mongo_commands_per_task" in report:
        text += (
            f"\n  server       {report['mongo_commands_per_task']:.1f} MongoDB commands per task; "
            f"{report['idle_commands_per_s']:.1f} commands/s while the runner idles"
        )
    if report.get("floor_kind") == "pika":
        text += (
            f"\n  floor        {report['floor_tasks_per_s']:>10.1f} items/s raw pika (publish persistent + confirm, "
            f"consume + ack in another process, SET/GET the result in Redis): we reach {report['ratio_to_floor']:.2f}x"
            f"\n  floor        round trip p50 {report['floor_latency_p50_ms']:.3f} ms raw pika (the same, one at a time)"
        )
        return text
    if "floor_tasks_per_s" in report:
        text += (
            f"\n  floor        {report['floor_tasks_per_s']:>10.1f} items/s raw redis-py (LPUSH, BRPOP + SET in "
            f"another process, GET; {report['floor_commands_per_task']:.1f} commands/item): "
            f"we reach {report['ratio_to_floor']:.2f}x"
        )
    if "floor_latency_p50_ms" in report:
        text += (
            f"\n  floor        round trip p50 {report['floor_latency_p50_ms']:.3f} ms raw redis-py (LPUSH, BRPOP + LPUSH "
            "in another process, BLPOP)"
        )
    return text
