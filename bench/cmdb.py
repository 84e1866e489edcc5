"""CMDB benchmarks (issue: impact analysis, filtered list, CSV import).

Run against a database filled by `manage.py seed_volume --cis 100000 --relationships 500000`:

    DATABASE_URL=... python -m bench.cmdb [--import-rows 100000]
"""

import argparse
import csv
import io
import random
import time

from bench._common import django_setup, machine_speed, summary, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--import-rows", type=int, default=100000)
    args = parser.parse_args()
    django_setup()
    print(machine_speed())

    from django.db import connection, transaction
    from django.test import Client

    from accounts.models import User
    from config_items.choices import ImpactDirection
    from config_items.imports import import_job_create, import_job_run
    from config_items.models import CIClass, ConfigurationItem, Relationship
    from config_items.selectors import ci_impact
    from config_items.volume import DENSE_PREFIX

    # A previous run's rolled-back import leaves dead index entries behind; clear them so
    # every run measures the same data.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE config_items_configurationitem")
        cursor.execute("VACUUM ANALYZE config_items_relationship")
    rng = random.Random(42)
    total_cis = ConfigurationItem.objects.count()
    total_rels = Relationship.objects.count()
    print(f"data: {total_cis} CIs, {total_rels} relationships")
    if total_cis < 1000:
        raise SystemExit("seed first: manage.py seed_volume --cis 100000 --relationships 500000")

    def ids(**filters):
        pool = list(ConfigurationItem.objects.filter(**filters).values_list("pk", flat=True))
        return [rng.choice(pool) for _ in range(args.samples)]

    typical = ids(ci_class__code__in=["virtual_machine", "server", "database", "application"])
    samples = []
    sizes = []
    for pk in typical:
        started = time.perf_counter()
        result = ci_impact(ci_ids=[pk], direction=ImpactDirection.DOWNSTREAM, depth=6)
        samples.append((time.perf_counter() - started) * 1000)
        sizes.append(len(result.distances))
    print(
        f"impact downstream depth 6, typical CI:        {summary(samples)}"
        f" (median reach {sorted(sizes)[len(sizes) // 2]} CIs)"
    )

    services = ids(ci_class__code="business_service")
    for direction in (ImpactDirection.UPSTREAM, ImpactDirection.DOWNSTREAM):
        samples, sizes = [], []
        for pk in services:
            started = time.perf_counter()
            result = ci_impact(ci_ids=[pk], direction=direction, depth=6)
            samples.append((time.perf_counter() - started) * 1000)
            sizes.append(len(result.distances))
        print(
            f"impact {direction:<10} depth 6, business service: {summary(samples)}"
            f" (median reach {sorted(sizes)[len(sizes) // 2]} CIs)"
        )

    dense = list(
        ConfigurationItem.objects.filter(name__startswith=DENSE_PREFIX).values_list("pk", flat=True)
    )
    if dense:
        samples, sizes = [], []
        for pk in rng.sample(dense, k=min(50, len(dense))):
            started = time.perf_counter()
            result = ci_impact(ci_ids=[pk], direction=ImpactDirection.DOWNSTREAM, depth=6)
            samples.append((time.perf_counter() - started) * 1000)
            sizes.append(len(result.distances))
        print(
            f"impact downstream depth 6, dense cluster:     {summary(samples)}"
            f" (reach {max(sizes)} CIs; worst case = max)"
        )

    agent = User.objects.filter(groups__name="agent").first()
    client = Client(HTTP_HOST="localhost")
    client.force_login(agent)
    url = "/api/v1/cmdb/cis/?ci_class=server&attr.os=Linux"
    assert client.get(url).status_code == 200
    figures = summary(timed(lambda: client.get(url), 200))
    print(f"API CI list, class=server & attr.os=Linux:    {figures}")
    url2 = "/api/v1/cmdb/cis/?ci_class=database&attr.engine=Oracle&status=live"
    figures = summary(timed(lambda: client.get(url2), 200))
    print(f"API CI list, class=database & engine & status: {figures}")

    if args.import_rows:
        manager = User.objects.filter(groups__name="manager").first() or agent
        app_class = CIClass.objects.get(code="application")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["name", "version", "vendor", "environment", "notes"])
        run = int(time.time())
        for i in range(args.import_rows):
            writer.writerow([f"import-{run}-{i:07d}", f"{i % 9}.{i % 7}", "Acme", "production", ""])
        content = buffer.getvalue().encode()
        # Everything is rolled back at the end, so the benchmark repeats on the same data.
        with transaction.atomic():
            for label in ("CSV import of new CIs", "same CSV again (all unchanged)"):
                job = import_job_create(
                    actor=manager,
                    ci_class=app_class,
                    file_name="bench.csv",
                    content=content,
                    is_dry_run=False,
                )
                started = time.perf_counter()
                job = import_job_run(job_id=job.pk)
                print(
                    f"{label}, {args.import_rows} rows: {time.perf_counter() - started:.1f} s "
                    f"(created {job.created_count}, unchanged {job.unchanged_count}, "
                    f"errors {job.error_count}, status {job.status})"
                )
            transaction.set_rollback(True)


if __name__ == "__main__":
    main()
