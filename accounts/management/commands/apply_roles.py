from django.core.management.base import BaseCommand

from accounts.services import roles_apply


class Command(BaseCommand):
    help = "Create the role groups and set their permissions exactly as declared in roles.py."

    def handle(self, *args, **options):
        for role, count in roles_apply().items():
            self.stdout.write(f"{role}: {count} permissions")
