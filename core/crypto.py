"""Encryption at rest for secrets (agent env values marked secret, provider
keys), keyed by ``AGENTRY_ENCRYPTION_KEY`` (falling back to ``SECRET_KEY``)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    material = settings.AGENTRY_ENCRYPTION_KEY or settings.SECRET_KEY
    key = base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest())
    return Fernet(key)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("Secret cannot be decrypted with the configured AGENTRY_ENCRYPTION_KEY.") from exc
