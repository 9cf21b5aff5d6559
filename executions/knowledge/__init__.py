"""An agent's knowledge base (DESIGN.md): documents uploaded through the API,
ingested in Celery workers (parse, chunk, embed, index), and searched by full
text and, when an embedding model is configured, by vectors, fused by rank."""
