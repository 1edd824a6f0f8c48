"""What a launched runner is told: the caller's settings, per-task ones included."""

from __future__ import annotations

from typing import Any

from kernel_magics.launchers.environment import app_environment
from pynenc_nb import Pynenc
from pynenc_nb.conf.loader import load_config


def test_per_task_settings_reach_a_launched_runner(tmp_path: Any) -> None:
    # Given an app with task defaults and settings of one task
    values = {
        "backend_url": f"sqlite://{tmp_path / 'a.db'}",
        "logging_level": "warning",
        "task": {"max_retries": 2, "__main__#train": {"max_retries": 5, "queue": "gpu"}},
    }
    app = Pynenc(app_id="settings", config_values=values)
    try:
        # When a runner rebuilds the app from the environment it is given
        _, tasks = load_config(environ=app_environment(app), cwd=tmp_path)
        # Then it has the same task settings
        assert {scope: {k: str(v) for k, v in opts.items()} for scope, opts in tasks.items()} == {
            "*": {"max_retries": "2"},
            "__main__#train": {"max_retries": "5", "queue": "gpu"},
        }
    finally:
        app.close()
