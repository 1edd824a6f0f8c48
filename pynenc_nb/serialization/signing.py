"""HMAC signing of pickled payloads.

Whoever can write to the backend can make runners unpickle what they wrote; with a secret set,
only holders of the secret can produce payloads that runners will load.
"""

from __future__ import annotations

import hashlib
import hmac

from pynenc_nb.exceptions import SignatureError


class Signer:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    @property
    def enabled(self) -> bool:
        return bool(self._key)

    def sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def verify(self, payload: bytes, signature: str | None) -> None:
        if not self._key:
            return
        if not signature:
            raise SignatureError(
                "refusing to load an unsigned pickled payload: PYNENC__SERIALIZER_SECRET is set, so every "
                "pickled value must be signed with it (was it written by a process without the secret?)"
            )
        if not hmac.compare_digest(self.sign(payload), signature):
            raise SignatureError(
                "refusing to load a pickled payload whose signature does not match PYNENC__SERIALIZER_SECRET: "
                "the writer used another secret, or the backend content was tampered with"
            )
