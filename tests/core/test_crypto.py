"""core.crypto: secrets at rest, and the plaintexts it keeps once decrypted."""

import pytest

from core import crypto


def test_a_secret_reads_back_and_each_encryption_differs(settings):
    settings.AGENTRY_ENCRYPTION_KEY = "key-one"
    first, second = crypto.encrypt("sk-secret"), crypto.encrypt("sk-secret")

    assert first != second  # a random IV each time
    assert crypto.decrypt(first) == crypto.decrypt(first) == crypto.decrypt(second) == "sk-secret"


def test_a_kept_plaintext_is_never_given_for_another_key(settings):
    settings.AGENTRY_ENCRYPTION_KEY = "key-one"
    ciphertext = crypto.encrypt("sk-secret")
    assert crypto.decrypt(ciphertext) == "sk-secret"

    settings.AGENTRY_ENCRYPTION_KEY = "key-two"
    with pytest.raises(ValueError, match="AGENTRY_ENCRYPTION_KEY"):
        crypto.decrypt(ciphertext)

    settings.AGENTRY_ENCRYPTION_KEY = "key-one"
    assert crypto.decrypt(ciphertext) == "sk-secret"


def test_without_a_key_of_its_own_the_secret_key_encrypts(settings):
    settings.AGENTRY_ENCRYPTION_KEY = ""
    settings.SECRET_KEY = "django-secret-for-this-test"
    ciphertext = crypto.encrypt("sk-secret")

    settings.SECRET_KEY = "another-django-secret"
    with pytest.raises(ValueError):
        crypto.decrypt(ciphertext)


def test_text_that_is_no_ciphertext_fails_every_time(settings):
    for _ in range(2):  # a failure is not kept as an answer
        with pytest.raises(ValueError):
            crypto.decrypt("not a fernet token")
