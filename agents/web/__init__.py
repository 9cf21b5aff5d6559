"""The console's agent pages: views and forms over the same services and
selectors as ``agents.api`` (DESIGN.md: ``web/`` beside ``api/``)."""
