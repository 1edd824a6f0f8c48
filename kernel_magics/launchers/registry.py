"""The state file of launched runners: ``.pynenc/runners.json`` in the working directory.

It outlives the kernel that launched the runners, so ``%pynenc runner list`` and ``stop`` work
after a kernel restart. Writes take an exclusive lock; the file is private (mode 0600) because it
names processes and kernels, though never connection URLs or secrets.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class LaunchedRunner:
    name: str
    kind: str  # "thread" | "process" | "kernel" | "remote"
    app_id: str
    pid: int  # the runner's process (the kernel process for "thread" and "kernel")
    started_at: float
    detach: bool = False
    log_file: str | None = None
    launcher_pid: int = 0  # the kernel that launched it
    kernel: dict[str, Any] = field(default_factory=dict)  # connection_file, kernel_id, server_url
    command: list[str] = field(default_factory=list)
    stopped: bool = False


class RunnerRegistry:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = (folder or Path.cwd()) / ".pynenc"
        self.path = self.folder / "runners.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, Any]]]:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            text = fh.read()
            data: dict[str, dict[str, Any]] = json.loads(text) if text.strip() else {}
            before = json.dumps(data, sort_keys=True)
            yield data
            if json.dumps(data, sort_keys=True) != before:
                fh.seek(0)
                fh.truncate()
                fh.write(json.dumps(data, indent=2, sort_keys=True))

    def all(self) -> list[LaunchedRunner]:
        if not self.path.exists():
            return []
        with self._locked() as data:
            return [LaunchedRunner(**entry) for entry in data.values()]

    def get(self, name: str) -> LaunchedRunner | None:
        return next((r for r in self.all() if r.name == name), None)

    def put(self, runner: LaunchedRunner) -> None:
        with self._locked() as data:
            data[runner.name] = asdict(runner)

    def remove(self, name: str) -> None:
        with self._locked() as data:
            data.pop(name, None)

    def next_name(self, kind: str) -> str:
        taken = {r.name for r in self.all()}
        index = 1
        while f"{kind}-{index}" in taken:
            index += 1
        return f"{kind}-{index}"

    def runners_dir(self) -> Path:
        folder = self.folder / "runners"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
