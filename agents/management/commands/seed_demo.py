import os

from django.conf import settings
from django.core.management.base import BaseCommand

from agents.demo import seed_demo


class Command(BaseCommand):
    help = ("Load the demo user (a superuser, for the console and the admin), a fresh API token for it and demo "
            "agents. Safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--email", default="demo@example.com")
        parser.add_argument("--password", default=os.environ.get("AGENTRY_DEMO_PASSWORD", "demo-password"))

    def handle(self, *args, username, email, password, **options):
        user, raw = seed_demo(username=username, email=email, password=password)
        site = f"http://127.0.0.1:{settings.PORT}"
        login = password if user.check_password(password) else "the password you set (seed_demo keeps it)"
        self.stdout.write(f"Console: {site}/  log in as {user.username} / {login}")
        self.stdout.write(f"Admin:   {site}/admin/  (the demo user is a superuser)")
        self.stdout.write(f"API:     {site}/api/docs/")
        self.stdout.write("Demo API token (all scopes), printed alone on the next line:")
        self.stdout.write(raw)
