"""The console's conversations pages, over the same services and selectors as its API."""
