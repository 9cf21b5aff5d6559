import os

from django.core.management.base import BaseCommand

from agents.demo import seed_demo


class Command(BaseCommand):
    help = "Load the demo user, a fresh API token for it and demo agents. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--email", default="demo@example.com")
        parser.add_argument("--password", default=os.environ.get("AGENTRY_DEMO_PASSWORD", "demo-password"))

    def handle(self, *args, username, email, password, **options):
        user, raw = seed_demo(username=username, email=email, password=password)
        self.stdout.write(f"Demo user: {user.username} / {password} (admin at /admin/)")
        self.stdout.write("Demo API token (all scopes), printed alone on the next line:")
        self.stdout.write(raw)
