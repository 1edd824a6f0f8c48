"""MongoDB backend: every port on one MongoDB replica set (or sharded cluster), shared by any
number of hosts.

``mongodb://[user:password@]host[:port][,host…]/[database][?options]`` or ``mongodb+srv://``;
pymongo options go in the query string. Each app's collections are ``<app_id>.<name>`` in the
URL's database (``pynenc`` when the URL names none). A replica set is required (a one-node one is
enough): concurrency keys, the waits-for graph and trigger definitions use transactions. Needs the
``mongo`` extra: ``pip install "pynenc_nb[mongo]"``.

Collections (``_id`` first; indexes in ``backend.INDEXES``):

- ``invocations``: ``_id`` = invocation id; the call (task_id, call_id, arguments, args_display,
  parent_invocation_id, workflow_id/type, parent_workflow_id, task_version, queue, priority,
  registration_key, running_key, reroute, created_at), its state (status, owner_id, num_retries,
  recoveries, updated_at), ``history`` (every status change: seq, status, owner_id, runner_id, at,
  reason, t = stored at) and ``outcome`` (kind, payload, display) once final. Indexes: (updated_at,
  _id) for pages, (status, updated_at), (task_id, updated_at), (task_id, call_id, created_at) for
  the result cache, owner_id, parent_invocation_id, workflow_id, running_key, history.seq (the
  change log). A status change is one ``find_one_and_update`` on one document (``invocations.py``).
- ``key_locks``: ``_id`` = concurrency key, ``holder`` = the invocation that last took it.
- ``counters``: ``_id`` = log name (``changes``, ``events``, ``waits``), ``n`` = last number given
  out, ``floor`` = numbers purged; ``voids``: numbers given out and never used (``log``, ``seq``,
  TTL index on ``expire``). See ``log.py``.
- ``messages``: the broker's queues (queue, invocation_id, priority, seq, consumer, token,
  taken_at); ``ready`` index (consumer, priority desc, seq) and (queue, consumer) for depths.
- ``waits``: waiter -> target edges (waiter, target indexes). ``runners``: runner contexts and
  heartbeats (last_heartbeat index). ``leases``: ``_id`` = lease name, holder, expires_at.
  ``kv``: app info, shipped task code, workflow data (``_id`` = namespace + key; (ns, key) index).
- ``triggers`` (task_id index); ``events``: ``_id`` = log number, event_id, code, payload, at,
  emitters ((at, event_id), (code, at, event_id), event_id indexes); ``trigger_runs``: ``_id`` =
  run id, the unique key that makes each occurrence fire once ((at, _id), (trigger_id, at, _id),
  source_id, invocation_id indexes). Retention is ``purge_events`` / ``purge_trigger_runs`` (the
  app's retention settings), not a TTL index: the limits are per app and may change.
- ``arg_cache``: ``_id`` = content hash, value.

Documents are limited to 16 MiB by the server: a value that would pass it raises
``PayloadTooLargeError`` before anything is stored.
"""

from __future__ import annotations

from pynenc_nb.backends.mongo.backend import MongoBackend

__all__ = ["MongoBackend"]
