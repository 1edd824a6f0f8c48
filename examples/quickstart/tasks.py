"""Tasks of the quickstart. ``pynenc runner start`` run in this folder finds ``app`` by itself."""

from pynenc_nb import Pynenc, RetryError, current_invocation

app = Pynenc(app_id="quickstart")  # embedded SQLite default: ./.pynenc/quickstart.db


@app.task
def add(x: int, y: int) -> int:
    add.logger.info("adding %s + %s", x, y)
    return x + y


@app.task
def square(x: int) -> int:
    return x * x


@app.task(max_retries=2)
def unreliable(attempts_needed: int) -> str:
    """Asks for a retry until its own invocation has been retried enough times."""
    invocation = current_invocation()
    done = invocation.num_retries if invocation else 0
    if done < attempts_needed:
        raise RetryError(f"attempt {done + 1} is too early")
    return f"succeeded after {done} retries"


@app.task
def divide(x: int, y: int) -> float:
    return x / y
