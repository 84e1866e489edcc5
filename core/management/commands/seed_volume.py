import time

from django.core.management.base import BaseCommand

from accounts.services import roles_apply
from core.volume import volume_seed


class Command(BaseCommand):
    help = "Bulk-create realistic volumes of data for benchmarks (adds to what exists)."

    def add_arguments(self, parser):
        parser.add_argument("--organisations", type=int, default=200)
        parser.add_argument("--users", type=int, default=20000)
        parser.add_argument("--groups", type=int, default=50)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        roles_apply()
        started = time.perf_counter()
        created = volume_seed(
            organisations=options["organisations"],
            users=options["users"],
            groups=options["groups"],
            seed=options["seed"],
        )
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{count} {kind}" for kind, count in created.items())
        self.stdout.write(f"created {summary} in {elapsed:.1f} s")
