from django.core.management.base import BaseCommand

from core.demo import DEMO_LOGINS, demo_data_load


class Command(BaseCommand):
    help = "Load the demo organisations, groups and users (idempotent)."

    def handle(self, *args, **options):
        created = demo_data_load()
        self.stdout.write(", ".join(f"{count} new {kind}" for kind, count in created.items()))
        for role, username, password in DEMO_LOGINS:
            self.stdout.write(f"  {role:<14} {username:<10} {password}")
