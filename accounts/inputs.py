"""What clients send the accounts app: the body of ``POST /auth/tokens``
(also the rules ``token_create`` applies to its arguments, whoever calls it)."""

from rest_framework import serializers

from accounts.models import Scope


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices), allow_empty=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
