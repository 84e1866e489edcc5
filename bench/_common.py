"""Shared helpers of the benchmarks: Django set-up, timing and percentiles."""

import os
import statistics
import time


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itsm.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    _require_migrated()


def _require_migrated() -> None:
    """Stop before measuring a database the code's migrations have not reached: its
    requests would fail (a run once timed 500s at 300/s) and its figures mean nothing."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        missing = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in plan[:5])
        raise SystemExit(f"unapplied migrations ({missing}): run manage.py migrate first")


def timed(fn, repeat: int) -> list[float]:
    """Milliseconds of `repeat` calls of fn()."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)

    def pct(p):
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    return (
        f"n={len(ordered)} p50={statistics.median(ordered):.2f} ms "
        f"p95={pct(95):.2f} ms p99={pct(99):.2f} ms max={ordered[-1]:.2f} ms"
    )


def machine_speed() -> str:
    """A fixed CPU-bound workload (best of five runs of sum(range(10**6))), printed with
    the figures: machines, and the same machine on a busy day, differ by more than the
    changes measured, so figures are only compared at a similar speed."""
    best = min(timed(lambda: sum(range(10**6)), 5))
    load = os.getloadavg()[0]
    return f"machine: sum(range(10**6)) best of 5 = {best:.1f} ms, load average {load:.2f}"
