from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from core.demo import DEMO_LOGINS


class Command(BaseCommand):
    help = "Load the demo data of every process app (idempotent)."

    def handle(self, *args, **options):
        # The loaders are listed in settings so core needs no import of the process apps.
        for path in settings.ITSM_DEMO_LOADERS:
            created = import_string(path)()
            summary = ", ".join(f"{count} new {kind}" for kind, count in created.items())
            self.stdout.write(f"{path}: {summary}")
        for role, username, password in DEMO_LOGINS:
            self.stdout.write(f"  {role:<14} {username:<10} {password}")
