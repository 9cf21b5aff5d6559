"""Strong ETags and ``If-Match`` preconditions (RFC 9110 §13.1.1)."""

from __future__ import annotations

import hashlib

from core.errors import PreconditionFailed, PreconditionRequired


def strong_etag(*parts) -> str:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f'"{digest}"'


def if_match_values(request) -> list[str] | None:
    """The entity tags listed in ``If-Match``, or ``None`` when the header is absent."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def check_if_match(tags: list[str] | None, current_etag: str, *, required: bool = False) -> None:
    """412 when ``If-Match`` (its parsed ``tags``) names none of the current
    tag; 428 when it is required and absent.  Weak tags never match (strong
    comparison)."""
    if tags is None:
        if required:
            raise PreconditionRequired(
                "This request must be conditional: send If-Match with the ETag from your last GET."
            )
        return
    if "*" in tags or current_etag in tags:
        return
    raise PreconditionFailed("If-Match does not match the current ETag: the resource has changed.")


def not_modified(request, current_etag: str) -> bool:
    """Whether ``If-None-Match`` already names the current tag, so a GET can
    answer 304.  Uses the weak comparison RFC 9110 prescribes for it."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or current_etag in tags
