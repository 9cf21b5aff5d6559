"""The console's knowledge pages, over the same services and selectors as its API."""
