"""Serializers: tagged JSON with a cloudpickle fallback (default), strict JSON, and pickle."""

from pynenc_nb.serialization.codec import (
    JsonSerializable,
    Serializer,
    make_serializer,
)

__all__ = ["JsonSerializable", "Serializer", "make_serializer"]
