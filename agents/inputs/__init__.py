"""What clients send the agents app, as serializers: one module per resource,
named like the API module that takes it.  The services validate with these
(``core.validation.validated``), and the API's OpenAPI schema describes
request bodies with the same classes."""
