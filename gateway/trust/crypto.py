"""Keys derived from ``GATEWAY_SECRET_KEY``, secrets encrypted at rest, token hashes."""

from __future__ import annotations

import hashlib
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive(secret_key: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, so no two uses share a key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(secret_key.encode())


def fingerprint(token: str) -> str:
    """What is stored instead of a bearer key (the keys are random, so a plain hash is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> str:
    """A fresh high-entropy bearer token with a recognisable prefix."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


class SecretBox:
    """AES-GCM for booking secrets; the key id is bound in as associated data."""

    def __init__(self, secret_key: str) -> None:
        self._aead = AESGCM(derive(secret_key, "booking-secrets/v1"))

    def seal(self, key_id: str, plaintext: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), key_id.encode())

    def open(self, key_id: str, sealed: bytes) -> str:
        """Decrypt a sealed secret.

        Raises:
            ValueError: the ciphertext was not sealed for this key id with this gateway's key.
        """
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], key_id.encode()).decode()
        except InvalidTag:
            raise ValueError(f"booking secret {key_id} cannot be decrypted with GATEWAY_SECRET_KEY") from None
