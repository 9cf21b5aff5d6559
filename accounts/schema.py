"""OpenAPI description of the token authentication's three header forms."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = ["bearerAuth", "tokenAuth", "apiKeyAuth"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <token>"},
            {"type": "apiKey", "in": "header", "name": "Authorization",
             "description": "Authorization: Token <token>"},
            {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "X-API-Key: <token>"},
        ]
