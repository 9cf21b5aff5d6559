"""Encryption at rest for secrets (agent env values marked secret, provider
keys), keyed by ``AGENTRY_ENCRYPTION_KEY`` (falling back to ``SECRET_KEY``).

Every run decrypts its provider's key and its agent's secret env values.
A secret's plaintext is kept per process once decrypted, by its ciphertext
and the key that opens it (the clients that use it hold it anyway): the HMAC
check and AES of Fernet took a fifth of a millisecond of each run's start."""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _material() -> str:
    return settings.AGENTRY_ENCRYPTION_KEY or settings.SECRET_KEY


@functools.lru_cache(maxsize=8)
def _fernet(material: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest()))


def encrypt(plaintext: str) -> str:
    return _fernet(_material()).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    return _decrypted(ciphertext, _material())


@functools.lru_cache(maxsize=1024)
def _decrypted(ciphertext: str, material: str) -> str:
    # A failure is not kept: it raises again each time.
    try:
        return _fernet(material).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("Secret cannot be decrypted with the configured AGENTRY_ENCRYPTION_KEY.") from exc
