import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from accounts.services import roles_apply


class Command(BaseCommand):
    help = "Bulk-create realistic volumes of data for benchmarks (adds to what exists)."

    def add_arguments(self, parser):
        parser.add_argument("--organisations", type=int, default=200)
        parser.add_argument("--users", type=int, default=20000)
        parser.add_argument("--groups", type=int, default=50)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--cis", type=int, default=0, help="Configuration items.")
        parser.add_argument(
            "--relationships", type=int, default=0, help="CI relationships (default 5 per CI)."
        )
        parser.add_argument("--incidents", type=int, default=0, help="Incidents (COPY).")
        parser.add_argument(
            "--comments-per-incident", type=float, default=2.0, help="Comments per incident."
        )
        parser.add_argument(
            "--clocks", type=int, default=0, help="Running SLA clocks on open incidents (COPY)."
        )
        parser.add_argument(
            "--closed-clocks",
            type=int,
            default=0,
            help="Stopped SLA clocks over 12 months, with their attainment rollups (COPY).",
        )

    def handle(self, *args, **options):
        roles_apply()
        started = time.perf_counter()
        created: dict[str, int] = {}
        # Each app's seeder takes the options it knows and ignores the rest.
        for path in settings.ITSM_VOLUME_SEEDERS:
            created |= import_string(path)(options)
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{count} {kind}" for kind, count in created.items())
        self.stdout.write(f"created {summary} in {elapsed:.1f} s")
