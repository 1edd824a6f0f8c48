"""Backend URLs: parsing the scheme, resolving the embedded default, redacting passwords."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# The secret runs to the last "@" before the path: passwords may hold a raw "@" (clients split on the last).
_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^/\s]+)(?P<tail>@)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``; safe for reprs, logs, errors and browsers."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _PASSWORD.sub(r"\g<head>***\g<tail>", url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]  # as written: keeps IPv6 brackets and multi-host lists
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def redact_text(text: str) -> str:
    """Redact every URL password inside free text (error messages from client libraries)."""
    return _PASSWORD.sub(r"\g<head>***\g<tail>", text)


def scheme_of(url: str) -> str:
    if url in ("memory", "memory:") or url.startswith("memory:"):
        return "memory"
    return urlsplit(url).scheme.lower()


def default_sqlite_url(app_id: str, cwd: Path | None = None) -> str:
    """The embedded default: ``.pynenc/<app_id>.db`` in the working directory, as an absolute path."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", app_id) or "pynenc"
    return f"sqlite://{((cwd or Path.cwd()) / '.pynenc' / f'{safe}.db').resolve()}"


def sqlite_path(url: str) -> str:
    """``sqlite:///abs/path.db`` -> ``/abs/path.db``; ``sqlite://rel.db`` is relative to the cwd."""
    rest = url[len("sqlite:") :]
    if rest.startswith("//"):
        rest = rest[2:]
    rest = rest.split("?", 1)[0]
    return str(Path(rest)) if rest else ""
