"""Database backends: Django's own, where one of its costs shows on every request."""
