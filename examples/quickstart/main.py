"""Start a runner in another process, run tasks on it, show results and a failure, stop it."""

from __future__ import annotations

import subprocess
import sys
import time

from tasks import add, app, divide, square, unreliable


def main() -> None:
    app.purge()
    runner = subprocess.Popen([sys.executable, "-m", "pynenc_nb", "runner", "start"])
    try:
        while not app.state_backend.runners():
            time.sleep(0.05)
        print("add(1, 2) =", add(1, 2).result)

        group = square.parallelize([(i,) for i in range(10)])
        print("squares, in completion order:", list(group.results))

        print("unreliable(2):", unreliable(2).result)

        try:
            divide(1, 0).result
        except ZeroDivisionError as error:
            print("divide(1, 0) raised ZeroDivisionError in the caller:", error)

        counts = {status.value: n for status, n in app.state_backend.count_by_status().items()}
        print("invocations by status:", counts)
    finally:
        runner.terminate()
        runner.wait(30)


if __name__ == "__main__":
    main()
