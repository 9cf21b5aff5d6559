"""Database backends and functions: Django's own, where one of their costs shows."""
