"""Serializers: exact round trips (auto), strict JSON refusals, pickle, and HMAC-signed pickles."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import pathlib
import uuid
import zoneinfo
from typing import Any, NamedTuple

import pytest

from pynenc_nb import InvocationStatus, SerializationError, SignatureError
from pynenc_nb.serialization import Serializer, make_serializer

# --- importable types used by the round trips ----------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Point(NamedTuple):
    x: int
    y: tuple[int, int]


@dataclasses.dataclass(frozen=True)
class Frame:
    name: str
    when: dt.datetime
    tags: frozenset[str]
    inner: Point


class Money:
    """A JsonSerializable class: knows its own JSON form."""

    def __init__(self, amount: int, currency: str) -> None:
        self.amount, self.currency = amount, currency

    def to_json(self) -> Any:
        return {"amount": self.amount, "currency": self.currency}

    @classmethod
    def from_json(cls, data: Any) -> Money:
        return cls(data["amount"], data["currency"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and (other.amount, other.currency) == (self.amount, self.currency)


class Opaque:
    """No JSON form at all: the auto serializer must cloudpickle it."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload
        self.__slots_like = {1, 2}


class AppError(Exception):
    """An importable exception class with several arguments."""


class HalfHourZone(dt.tzinfo):
    """A third-party style tzinfo: only pickling can bring it back."""

    def utcoffset(self, when: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(minutes=30)

    def dst(self, when: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(0)

    def tzname(self, when: dt.datetime | None) -> str:
        return "HALF"


UNPICKLED: list[str] = []


def _record_unpickle(tag: str) -> str:
    UNPICKLED.append(tag)
    return tag


class Tripwire:
    """Unpickling it records that it happened: lets a test prove a payload was never loaded."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_record_unpickle, ("tripwire",))


@pytest.fixture(autouse=True)
def _reset_tripwire() -> None:
    UNPICKLED.clear()


def roundtrip(value: Any, name: str = "auto", secret: str = "") -> Any:
    serializer = make_serializer(name, secret)
    text = serializer.dumps(value)
    assert isinstance(text, str)
    json.loads(text)  # always valid JSON text
    return serializer.loads(text)


def assert_same(value: Any, back: Any) -> None:
    assert type(back) is type(value)
    assert back == value


# --- auto: exact round trips ---------------------------------------------------------------------

UTC_NOW = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -(2**70),
    1.5,
    -0.25,
    float("inf"),
    float("-inf"),
    "",
    'héllo \u2603 "quoted"',
    [],
    [1, "a", None, [2.5, [True]]],
    {},
    {"a": 1, "b": {"c": [1, 2, {"d": None}]}},
    (1, "two", (3, (4,))),
    (),
    {1, 2, 3},
    frozenset({"a", "b"}),
    set(),
    b"\x00\xffbinary",
    UTC_NOW,
    dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30))),
    dt.datetime(2024, 5, 6, 7, 8, 9, 10),
    dt.date(2024, 2, 29),
    dt.time(23, 59, 58, 999),
    dt.time(1, 2, tzinfo=dt.UTC),
    dt.timedelta(days=-2, seconds=5, microseconds=7),
    decimal.Decimal("1.10"),
    decimal.Decimal("-0.000000000000000000000001"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    pathlib.Path("/tmp/some dir/file.txt"),
    pathlib.PurePosixPath("rel/x"),
    Color.RED,
    Color.BLUE,
    Level.HIGH,
    InvocationStatus.SUCCESS,
    Point(1, (2, 3)),
    Frame("f", UTC_NOW, frozenset({"x"}), Point(0, (1, 1))),
    Money(5, "EUR"),
    {1: "int key", (1, 2): "tuple key", None: "none key", 2.5: "float key"},
    {"__pnb__": "tuple", "v": [1, 2]},
    {"outer": {"__pnb__": "pickle", "v": "AAAA"}},
    [(1, 2), {3}, {"k": (4,)}],
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_auto_round_trips_exactly(value: Any) -> None:
    assert_same(value, roundtrip(value))


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_pickle_round_trips_exactly(value: Any) -> None:
    assert_same(value, roundtrip(value, "pickle"))


def test_nan_round_trips() -> None:
    back = roundtrip(float("nan"))
    assert type(back) is float and math.isnan(back)
    back_list = roundtrip([float("nan")])
    assert math.isnan(back_list[0])


def test_nested_containers_keep_inner_types() -> None:
    value = {"t": (1, [2, (3,)]), "s": {frozenset({1})}, "d": {1: {"x": (dt.date(2020, 1, 1),)}}}
    back = roundtrip(value)
    assert back == value
    assert type(back["t"]) is tuple and type(back["t"][1][1]) is tuple
    assert type(back["d"][1]["x"][0]) is dt.date


def test_datetimes_keep_awareness() -> None:
    aware = roundtrip(UTC_NOW)
    naive = roundtrip(dt.datetime(2024, 1, 1, 12))
    assert aware.utcoffset() == dt.timedelta(0)
    assert naive.tzinfo is None


@pytest.mark.parametrize("name", ["auto", "json"])
def test_zoneinfo_datetime_keeps_its_zone(name: str) -> None:
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    value = dt.datetime(2024, 3, 30, 12, tzinfo=paris)  # the day before the DST change
    back = roundtrip(value, name)
    assert back == value
    assert back.tzinfo == paris
    assert back + dt.timedelta(days=1) == value + dt.timedelta(days=1)
    assert (back + dt.timedelta(days=1)).utcoffset() == dt.timedelta(hours=2)


def test_custom_tzinfo_datetime_keeps_its_tzinfo_class() -> None:
    value = dt.datetime(2024, 1, 1, 9, tzinfo=HalfHourZone())
    back = roundtrip(value)
    assert back == value
    assert type(back.tzinfo) is HalfHourZone


def test_json_native_values_stay_readable_json() -> None:
    serializer = Serializer("auto")
    value = {"a": [1, 2.5, "x", None, True]}
    assert json.loads(serializer.dumps(value)) == value


def test_user_dict_with_the_tag_key_is_not_mistaken_for_a_tag() -> None:
    value = {"__pnb__": "exception", "type": "builtins.ValueError", "message": "not really"}
    assert_same(value, roundtrip(value))


def test_importable_exception_keeps_its_type_and_args() -> None:
    back = roundtrip(AppError("boom", 42, (1, 2)))
    assert type(back) is AppError
    assert back.args == ("boom", 42, (1, 2))


def test_builtin_exception_keeps_its_type_and_args() -> None:
    back = roundtrip(KeyError("missing"))
    assert type(back) is KeyError and back.args == ("missing",)


def test_closure_and_lambda_round_trip_through_cloudpickle() -> None:
    offset = 10

    def add_offset(x: int) -> int:
        return x + offset

    assert roundtrip(add_offset)(1) == 11
    assert roundtrip(lambda x: x * 3)(4) == 12
    assert roundtrip([lambda: "inside a list"])[0]() == "inside a list"


def test_object_without_json_form_round_trips_through_cloudpickle() -> None:
    back = roundtrip(Opaque({"k": (1, 2)}))
    assert type(back) is Opaque
    assert back.payload == {"k": (1, 2)}


def test_local_class_instance_round_trips() -> None:
    @dataclasses.dataclass
    class Local:
        value: int

    back = roundtrip(Local(3))
    assert back.value == 3 and type(back).__name__ == "Local"


def test_unknown_serializer_name_is_refused() -> None:
    with pytest.raises(SerializationError, match="unknown serializer"):
        make_serializer("yaml")


# --- strict JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [object(), Opaque(1), lambda: 1, bytearray(b"x")], ids=["object", "opaque-instance", "lambda", "bytearray"])
def test_strict_json_refuses_values_without_json_form(value: Any) -> None:
    kind = type(value)
    with pytest.raises(SerializationError) as info:
        Serializer("json").dumps({"nested": [value]})
    assert info.value.serializer == "json"
    assert info.value.value_type == f"{kind.__module__}.{kind.__qualname__}"
    assert kind.__qualname__ in str(info.value)
    assert "'json'" in str(info.value)


@pytest.mark.parametrize(
    "value",
    [
        (1, (2, 3)),
        UTC_NOW,
        dt.datetime(2024, 1, 1),
        decimal.Decimal("2.50"),
        {1, 2},
        Point(1, (2, 3)),
        Frame("f", UTC_NOW, frozenset(), Point(0, (0, 0))),
        Color.RED,
        Money(1, "USD"),
        {(1, 2): "x"},
        pathlib.Path("/a/b"),
        b"bytes",
        uuid.UUID(int=5),
    ],
    ids=lambda v: type(v).__name__,
)
def test_strict_json_still_round_trips_tagged_types(value: Any) -> None:
    serializer = Serializer("json")
    text = serializer.dumps(value)
    assert "pickle" not in text
    assert_same(value, serializer.loads(text))


def test_strict_json_round_trips_importable_exceptions_without_pickle() -> None:
    serializer = Serializer("json")
    text = serializer.dumps(AppError("bad", 1))
    assert "pickle" not in text
    back = serializer.loads(text)
    assert type(back) is AppError and back.args == ("bad", 1)


# --- HMAC signing of pickled payloads ------------------------------------------------------------


def test_signed_payload_round_trips_with_the_same_secret() -> None:
    writer = Serializer("auto", secret="k1")
    text = writer.dumps(Opaque(7))
    assert '"sig"' in text
    assert Serializer("auto", secret="k1").loads(text).payload == 7


def test_tripwire_fires_when_loaded_legitimately() -> None:
    text = Serializer("auto", secret="k1").dumps(Tripwire())
    assert Serializer("auto", secret="k1").loads(text) == "tripwire"
    assert UNPICKLED == ["tripwire"]


@pytest.mark.parametrize("name", ["auto", "pickle"])
def test_unsigned_payload_is_refused_and_never_unpickled(name: str) -> None:
    text = make_serializer(name).dumps(Tripwire())
    with pytest.raises(SignatureError, match="unsigned"):
        make_serializer(name, secret="k1").loads(text)
    assert UNPICKLED == []


@pytest.mark.parametrize("name", ["auto", "pickle"])
def test_payload_signed_with_another_secret_is_refused_and_never_unpickled(name: str) -> None:
    text = make_serializer(name, secret="other").dumps(Tripwire())
    with pytest.raises(SignatureError, match="does not match"):
        make_serializer(name, secret="k1").loads(text)
    assert UNPICKLED == []


def test_tampered_payload_is_refused() -> None:
    data = json.loads(Serializer("auto", secret="k1").dumps(Opaque(1)))
    forged = json.loads(Serializer("auto").dumps(Tripwire()))
    data["v"] = forged["v"]  # keep the old signature, swap the bytes
    with pytest.raises(SignatureError):
        Serializer("auto", secret="k1").loads(json.dumps(data))
    assert UNPICKLED == []


def test_nested_unsigned_payload_is_refused() -> None:
    text = Serializer("auto").dumps({"a": [1, (Tripwire(),)]})
    with pytest.raises(SignatureError):
        Serializer("auto", secret="k1").loads(text)
    assert UNPICKLED == []


def test_signature_error_is_a_serialization_error() -> None:
    assert issubclass(SignatureError, SerializationError)
