"""Backend URLs: passwords never survive redaction; SQLite paths and schemes resolve as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from pynenc_nb.conf.urls import default_sqlite_url, redact_text, redact_url, scheme_of, sqlite_path

SECRET = "s3cr3tPW"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"redis://user:{SECRET}@host:6379/0", "redis://user:***@host:6379/0"),
        (f"redis://:{SECRET}@host:6379/0", "redis://:***@host:6379/0"),
        (f"rediss://user:{SECRET}@host/1?ssl_cert_reqs=none", "rediss://user:***@host/1?ssl_cert_reqs=none"),
        (f"amqp://guest:{SECRET}@127.0.0.1:5672/%2F", "amqp://guest:***@127.0.0.1:5672/%2F"),
        (f"mongodb+srv://app:{SECRET}@cluster.example.net/db", "mongodb+srv://app:***@cluster.example.net/db"),
        (f"redis://user:{SECRET}@[::1]:6379/0", "redis://user:***@[::1]:6379/0"),
        (
            f"mongodb://u:{SECRET}@h1:27017,h2:27017/db?replicaSet=rs",
            "mongodb://u:***@h1:27017,h2:27017/db?replicaSet=rs",
        ),
        (f"redis://user:p%40{SECRET}@host:6379/0", "redis://user:***@host:6379/0"),
    ],
)
def test_redact_url_replaces_the_password(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_url_with_an_unescaped_at_sign_in_the_password() -> None:
    redacted = redact_url(f"redis://user:pa@{SECRET}@host:6379/0")
    assert SECRET not in redacted
    assert redacted.endswith("@host:6379/0")


@pytest.mark.parametrize(
    "url", ["memory:", "sqlite:///tmp/app.db", "redis://127.0.0.1:6379/0", "redis://user@host:6379", ""]
)
def test_redact_url_leaves_urls_without_password_alone(url: str) -> None:
    assert redact_url(url) == url


def test_redact_text_redacts_every_url_in_free_text() -> None:
    text = (
        f"Error connecting to redis://default:{SECRET}@cache:6379/0 (refused); "
        f"fallback amqp://guest:{SECRET}2@mq:5672/%2F failed too"
    )
    redacted = redact_text(text)
    assert SECRET not in redacted
    assert "redis://default:***@cache:6379/0" in redacted
    assert "amqp://guest:***@mq:5672/%2F" in redacted
    assert redacted.startswith("Error connecting to ")


def test_redact_text_with_an_unescaped_at_sign_in_the_password() -> None:
    redacted = redact_text(f"cannot reach redis://user:pa@{SECRET}@host:6379/0 now")
    assert SECRET not in redacted
    assert "@host:6379/0 now" in redacted


def test_redact_text_keeps_text_without_passwords() -> None:
    text = "redis://host:6379/0 is down; mail admin@example.com"
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///abs/dir/app.db", "/abs/dir/app.db"),
        ("sqlite:///abs/dir/app.db?timeout=5", "/abs/dir/app.db"),
        ("sqlite://rel/app.db", "rel/app.db"),
        ("sqlite:rel.db", "rel.db"),
        ("sqlite://", ""),
    ],
)
def test_sqlite_path_forms(url: str, expected: str) -> None:
    assert sqlite_path(url) == expected


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("memory:", "memory"),
        ("memory", "memory"),
        ("sqlite:///x.db", "sqlite"),
        ("REDIS://host", "redis"),
        ("mongodb+srv://h/db", "mongodb+srv"),
        ("amqp://h", "amqp"),
    ],
)
def test_scheme_of(url: str, scheme: str) -> None:
    assert scheme_of(url) == scheme


def test_default_sqlite_url_is_absolute_under_dot_pynenc(tmp_path: Path) -> None:
    url = default_sqlite_url("my app/1", cwd=tmp_path)
    path = Path(sqlite_path(url))
    assert path.is_absolute()
    assert path == (tmp_path / ".pynenc" / "my_app_1.db").resolve()
