from django.core.management.base import BaseCommand, CommandError

from accounts.models import Scope
from accounts.selectors import user_find
from accounts.services import token_create
from core.errors import ApiError


class Command(BaseCommand):
    help = "Create an API token for a user and print the raw token alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username or email.")
        parser.add_argument("--scopes", default=",".join(Scope.values),
                            help=f"Comma-separated scopes (default: {','.join(Scope.values)}).")
        parser.add_argument("--name", default="cli", help="A name to recognise the token by.")

    def handle(self, *args, user, scopes, name, **options):
        owner = user_find(username=user)
        if owner is None:
            raise CommandError(f"No active user {user!r}.")
        try:
            token, raw = token_create(user=owner, name=name, scopes=[s.strip() for s in scopes.split(",") if s.strip()])
        except ApiError as exc:
            raise CommandError(exc.detail)
        self.stderr.write(f"Created token {token.name!r} ({', '.join(token.scopes)}) for {owner.username}.")
        self.stdout.write(raw)
