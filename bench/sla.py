"""SLA clock benchmarks (issue 5): the beat tick at 10k, 100k and 1M open clocks, the rate
at which due clocks are marked, how late a real worker records a breach, and the SLA
dashboard over a million stopped clocks.

Run against a database with users and stopped clocks from seed_volume:

    manage.py seed_demo
    manage.py seed_volume --users 2000 --organisations 200 --groups 50 --closed-clocks 1000000
    DATABASE_URL=... REDIS_URL=... python -m bench.sla

Parts (--parts, default all):

* idle: for each size of --sizes, running clocks are topped up to that size with
  `sla.volume.sla_volume_seed` (added, never removed), the table is vacuumed and analysed,
  whatever is due is fired once, and then a tick with nothing due is measured --runs times
  at that same moment: the server's own figures (EXPLAIN (ANALYZE, BUFFERS): planning +
  execution) of the due selection and of the whole tick statement, and the wall time of
  `clock_tick()` seen from Python (transaction, round trips).
* mark: at each size, for each D of --due, D thresholds come due and
  `clock_tick(batch=5000)` marks them; reports thresholds/s and distinct clocks/s, and
  the recording of the firings (rolled back). --mark-pick next (default): the tick runs
  at the moment the D-th pending threshold (in due order) is reached, as a tick that fell
  behind would, committing each batch as in production; each D marks the thresholds
  after those of the previous one. At the end the marked rows are put back (from the
  sla.fired messages, which are dropped; the table vacuumed first, so they go into the
  places the marking freed). They end up about three times denser than before (1M
  clocks: 5 rows per page against 1.7), which flatters a later run marking them again:
  quote the first run after seeding.
  --mark-pick random: D random running clocks get their next threshold moved a few
  seconds into the past, inside a transaction rolled back at the end (how the figures
  before one row per threshold were taken; the moved rows are new row versions packed on
  a few pages, and every batch steps over the index entries of the rows deleted by the
  earlier ones, not dead to others yet).
* lateness: at the last size, --late-clocks running clocks get their next threshold at
  spread moments in the next --late-window seconds (committed), then a real Celery worker
  with embedded beat (`celery -A itsm worker -B -Q celery,sla -c 2`,
  ITSM_SLA_TICK_SECONDS=--tick-seconds; with --tick-queue the production layout, a worker
  per queue) runs until they have all fired; reports, per event, when the tick marked it
  (data.recorded_at) and when its row was written (data.written_at), minus its due time.
* dashboard: `sla.selectors.attainment` per dimension over 12 months of rollups, the
  dashboard aggregation with a cold and a warm cache, the same through
  `GET /sla/` (Django test client, logged in as a manager), and, for comparison, a live
  GROUP BY over the stopped clocks.

Every loop is bounded by a count (and the worker by --late-timeout seconds).
"""

import argparse
import bisect
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench._common import django_setup, machine_speed, summary, timed

ROOT = Path(__file__).resolve().parent.parent
_DUE_SQL = """
    SELECT clock_id, percent FROM sla_clockdue
    WHERE due_at <= %(now)s
    ORDER BY due_at
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
"""
# Whether anything is due at all: the first entry of the due index, no lock.
_PROBE_SQL = """
    SELECT coalesce(min(due_at) <= %(now)s, false) FROM sla_clockdue
"""


def _ints(value: str) -> list[int]:
    return [int(item) for item in value.split(",") if item]


def _server_ms(sql: str, params: dict) -> tuple[float, float, str]:
    """Planning and execution time (ms) of one EXPLAIN (ANALYZE, BUFFERS) run, and the plan."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    planning = float(re.search(r"Planning Time: ([\d.]+) ms", plan).group(1))
    execution = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
    return planning, execution, plan


def _server_summary(sql: str, params: dict, runs: int) -> tuple[str, str]:
    samples = [_server_ms(sql, params) for _ in range(runs)]
    planning = statistics.median(s[0] for s in samples)
    execution = statistics.median(s[1] for s in samples)
    total = sorted(s[0] + s[1] for s in samples)
    p95 = total[int(0.95 * (len(total) - 1))]
    text = (
        f"p50 planning {planning:.3f} ms + execution {execution:.3f} ms; "
        f"total p50 {statistics.median(total):.3f} ms, p95 {p95:.3f} ms"
    )
    return text, samples[-1][2]


def _prepared_summary(sql: str, now, runs: int) -> str:
    """Server time of the statement as a server-side prepared statement (what psycopg 3
    does after ITSM_DB_PREPARE_THRESHOLD runs on a persistent connection): after a few
    executions PostgreSQL keeps a generic plan and stops planning."""
    from django.db import connection, transaction

    text = sql.replace("%(now)s", "$1").replace("%(batch)s", "$2").replace("%(chunk)s", "$3")
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE bench_tick (timestamptz, integer, integer) AS {text}")
    samples = []
    for n in range(runs + 10):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_tick "  # a utility statement: no binds
                f"('{now.isoformat()}', 5000, 500)"
            )
            plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        if n >= 10:  # the first executions are planned each time (custom plans)
            planning = re.search(r"Planning Time: ([\d.]+) ms", plan)
            execution = re.search(r"Execution Time: ([\d.]+) ms", plan)
            samples.append(
                (float(planning.group(1)) if planning else 0.0, float(execution.group(1)))
            )
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE bench_tick")
    total = sorted(p + e for p, e in samples)
    return (
        f"p50 planning {statistics.median(p for p, _e in samples):.3f} ms + execution "
        f"{statistics.median(e for _p, e in samples):.3f} ms; total p50 "
        f"{statistics.median(total):.3f} ms, p95 {total[int(0.95 * (len(total) - 1))]:.3f} ms"
    )


def _running() -> int:
    from sla.models import Clock

    return Clock.objects.filter(state="running").count()


def _prepare(size: int) -> None:
    """Top up running clocks to `size`, vacuum, analyse."""
    from django.db import connection

    from sla.volume import sla_volume_seed

    missing = size - _running()
    if missing > 0:
        started = time.perf_counter()
        sla_volume_seed(clocks=missing, seed=size, log=lambda m: print("    " + m))
        print(f"  seeded {missing} running clocks in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE sla_clock")
        cursor.execute("VACUUM ANALYZE sla_clockdue")
        cursor.execute("VACUUM ANALYZE sla_clockevent")


def _drain() -> "object":
    """Fire what is due now; returns the moment used, at which nothing is due any more."""
    from django.utils import timezone

    from sla.services import clock_tick

    now = timezone.now()
    fired = clock_tick(now=now)
    print(f"  drained: {fired} thresholds were due at the start")
    return now


def idle_section(size: int, now, runs: int) -> dict:
    """The tick with nothing due at `now` (right after a drain at `now`)."""
    from sla.services import _TICK_SQL, FIRED_CHUNK, clock_tick

    params = {"now": now, "batch": 5000, "chunk": FIRED_CHUNK}
    # Right after the drain the due index still holds the entries of the clocks it marked
    # (their old row versions, due in the past); a bitmap scan visits each one's heap row.
    first_text, first_plan = _server_summary(_DUE_SQL, params, 1)
    wall = timed(lambda: clock_tick(now=now), runs)
    due_text, _plan = _server_summary(_DUE_SQL, params, runs)
    tick_text, _plan = _server_summary(_TICK_SQL, params, runs)
    probe_text, probe_plan = _server_summary(_PROBE_SQL, {"now": now}, runs)
    prepared_text = _prepared_summary(_TICK_SQL, now, runs)
    print(f"  first look after the drain, due selection (server, 1 run): {first_text}")
    print(_indent(first_plan))
    print(f"  idle tick, clock_tick() wall time: {summary(wall)}")
    print(f"  idle tick, probe 'is anything due?' (server): {probe_text}")
    print(f"  idle tick, due selection (server): {due_text}")
    print(f"  idle tick, whole statement (server): {tick_text}")
    print(f"  idle tick, whole statement prepared, as a worker runs it (server): {prepared_text}")
    print("  plan of the probe:\n" + _indent(probe_plan))
    return {"due": due_text, "tick": tick_text, "wall": statistics.median(wall)}


def _indent(plan: str) -> str:
    return "\n".join("    " + line for line in plan.splitlines())


def _random_due(cursor, now, due: int) -> int:
    """Inside the caller's transaction, move the next threshold of `due` random running
    clocks a few seconds before `now` (their other thresholds stay later)."""
    cursor.execute("SELECT setseed(0.25)")
    cursor.execute(
        """
        WITH picked AS (
            SELECT clock_id, min(percent) AS percent,
                   %s - random() * interval '10 seconds' AS moment
            FROM sla_clockdue GROUP BY clock_id
            ORDER BY random() LIMIT %s
        )
        UPDATE sla_clockdue d SET due_at = picked.moment
        FROM picked WHERE picked.clock_id = d.clock_id AND picked.percent = d.percent
        """,
        [now, due],
    )
    return cursor.rowcount


# Puts back the thresholds a committed mark run deleted (from its sla.fired messages) and
# drops those messages, so the database is as before but for the rows' places.
_RESTORE_SQL = """
WITH gone AS (
    DELETE FROM core_outboxmessage WHERE topic = 'sla.fired' AND id > %s
    RETURNING payload
)
INSERT INTO sla_clockdue (clock_id, percent, due_at)
SELECT (f->>0)::bigint, (f->>1)::int, (f->>2)::timestamptz
FROM gone CROSS JOIN LATERAL jsonb_array_elements(gone.payload->'firings') AS f
"""


def _mark(now, last_message: int) -> tuple[int, float, int, int, float]:
    """clock_tick(now) timed, then the recording of its messages (rolled back); returns
    thresholds marked, seconds, distinct clocks, clock events recorded, seconds."""
    from django.db import transaction

    from core.models import OutboxMessage
    from sla.models import ClockEvent
    from sla.services import clock_fired_record, clock_tick

    started = time.perf_counter()
    marked = clock_tick(now=now, batch=5000)
    elapsed = time.perf_counter() - started
    messages = list(
        OutboxMessage.objects.filter(pk__gt=last_message, topic="sla.fired").order_by("pk")
    )
    assert sum(len(m.payload["firings"]) for m in messages) == marked
    clocks = len({f[0] for m in messages for f in m.payload["firings"]})
    # What the workers then do with the messages, before the escalations: record the
    # clock events, ticket events and breach moments (one transaction each).
    with transaction.atomic():
        before = ClockEvent.objects.count()
        recording = time.perf_counter()
        for message in messages:
            clock_fired_record(
                firings=message.payload["firings"], marked_at=message.payload["marked_at"]
            )
        recorded = time.perf_counter() - recording
        events = ClockEvent.objects.count() - before
        transaction.set_rollback(True)
    return marked, elapsed, clocks, events, recorded


def mark_section(size: int, dues: list[int], pick: str) -> list[tuple[int, float]]:
    """Mark D thresholds for each D of `dues` (see the module docstring, --mark-pick)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from core.models import OutboxMessage

    first_message = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True)
    first_message = first_message.first() or 0
    floor = timezone.now()
    results = []
    try:
        for due in dues:
            if due > size:
                continue
            last_message = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True)
            last_message = last_message.first() or 0
            load = os.getloadavg()[0]
            if pick == "next":
                # As in production, a committed transaction per batch; each D starts
                # after the thresholds the previous one marked (all put back at the end).
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM sla_clockdue")
                    cursor.execute(
                        "SELECT due_at FROM sla_clockdue WHERE due_at > %s ORDER BY due_at "
                        "OFFSET %s LIMIT 1",
                        [floor, due - 1],
                    )
                    now = floor = cursor.fetchone()[0]
                picked = due
                marked, elapsed, clocks, events, recorded = _mark(now, last_message)
            else:
                # Every batch in one transaction, rolled back: later batches step over
                # the index entries of the rows earlier ones deleted (not dead to others).
                with transaction.atomic(), connection.cursor() as cursor:
                    now = timezone.now()
                    picked = _random_due(cursor, now, due)
                    marked, elapsed, clocks, events, recorded = _mark(now, last_message)
                    transaction.set_rollback(True)
            rate = marked / elapsed if elapsed else 0
            print(
                f"  mark ({pick}): {picked} thresholds made due, clock_tick(batch=5000) "
                f"marked {marked} thresholds of {clocks} clocks in {elapsed * 1000:.0f} ms = "
                f"{rate:,.0f} thresholds/s, {clocks / elapsed if elapsed else 0:,.0f} "
                f"clocks/s (load {load:.2f}); recording them ({events} clock events, handler "
                f"without escalations): {recorded * 1000:.0f} ms = "
                f"{events / recorded if recorded else 0:,.0f} events/s"
            )
            results.append((due, rate))
    finally:
        if pick == "next":
            # Vacuumed first, the rows go back into the places the marking freed (denser
            # than they were all the same, see the module docstring).
            with connection.cursor() as cursor:
                cursor.execute("VACUUM sla_clockdue")
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_RESTORE_SQL, [first_message])
                print(f"  mark: {cursor.rowcount} thresholds put back")
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE sla_clockdue")
    return results


def _record_backlog() -> None:
    """Record, in-process, what earlier ticks (the drain) fired and no worker has recorded
    yet, so the lateness window starts as in steady state, with nothing waiting on the
    "sla" queue; prints the rate (a burst of that size is recorded that fast, not faster)."""
    from django.utils import timezone

    from core.models import OutboxMessage
    from core.outbox import outbox_deliver

    waiting = list(
        OutboxMessage.objects.filter(topic="sla.fired", dispatched_at__isnull=True).values_list(
            "pk", "payload"
        )
    )
    if not waiting:
        return
    started = time.perf_counter()
    for pk, _payload in waiting:
        outbox_deliver(message_id=pk)
    elapsed = time.perf_counter() - started
    OutboxMessage.objects.filter(pk__in=[pk for pk, _ in waiting]).update(
        dispatched_at=timezone.now()
    )
    firings = sum(len(payload.get("firings", [])) for _pk, payload in waiting)
    print(
        f"  backlog: recorded {firings} firings of {len(waiting)} sla.fired messages in "
        f"{elapsed:.1f} s = {firings / elapsed:.0f}/s (one process)"
    )


def lateness_section(args) -> None:
    from django.db import connection
    from django.utils import timezone

    from sla.models import ClockEvent

    _record_backlog()
    count, window = args.late_clocks, args.late_window
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.5)")
        start = timezone.now() + timedelta(seconds=5)
        cursor.execute(
            """
            SELECT clock_id, min(percent) FROM sla_clockdue GROUP BY clock_id
            HAVING min(due_at) > %s
            ORDER BY random() LIMIT %s
            """,
            [start + timedelta(seconds=window), count],
        )
        chosen = cursor.fetchall()
        # The next threshold of each, evenly spread over the window (earlier than the
        # clock's other thresholds, so their order stays).
        moments = [start + timedelta(seconds=window * n / len(chosen)) for n in range(len(chosen))]
        cursor.execute(
            """
            UPDATE sla_clockdue d SET due_at = m.moment
            FROM unnest(%s::bigint[], %s::int[], %s::timestamptz[]) AS m(id, percent, moment)
            WHERE m.id = d.clock_id AND m.percent = d.percent
            RETURNING d.clock_id, d.percent
            """,
            [[pk for pk, _p in chosen], [p for _pk, p in chosen], moments],
        )
        picked = cursor.fetchall()
    ids = [pk for pk, _percent in picked]
    first_percent = dict(picked)
    print(
        f"  lateness: {len(ids)} clocks due between {start:%H:%M:%S} and "
        f"{start + timedelta(seconds=window):%H:%M:%S}; worker with beat, tick every "
        f"{args.tick_seconds} s"
    )
    log = Path(tempfile.mkdtemp(prefix="bench-sla-")) / "worker.log"
    env = {
        **os.environ,
        "ITSM_SLA_TICK_SECONDS": str(args.tick_seconds),
        "CELERY_BROKER_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    }
    celery = str(Path(sys.executable).parent / "celery")
    common = ["--loglevel", "WARNING", "--without-heartbeat", "--without-mingle",
              "--without-gossip"]  # fmt: skip
    beat = ["-B", "-s", str(log.parent / "beat-schedule")]
    if args.tick_queue:
        # The production layout: the "sla-tick" and "sla" queues (tick, recording) on a
        # worker of their own.
        commands = [
            [celery, "-A", "itsm", "worker", *beat, "-Q", "sla-tick,sla", "-c", "2",
             *common, "-n", f"bench-sla-tick-{os.getpid()}@%h"],
            [celery, "-A", "itsm", "worker", "-Q", "celery", "--concurrency",
             str(args.concurrency), *common, "-n", f"bench-sla-{os.getpid()}@%h"],
        ]  # fmt: skip
    else:
        commands = [
            [celery, "-A", "itsm", "worker", *beat, "-Q", "celery,sla-tick,sla", "--concurrency",
             str(args.concurrency), *common, "-n", f"bench-sla-{os.getpid()}@%h"],
        ]  # fmt: skip
    print("  " + " && ".join(" ".join(command[1:]) for command in commands))
    with log.open("w") as output:
        workers = [
            subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=True
            )
            for command in commands
        ]
        try:
            deadline = time.time() + window + args.late_timeout
            fired = 0
            while time.time() < deadline:
                time.sleep(2)
                fired = (
                    ClockEvent.objects.filter(
                        clock_id__in=ids, kind__in=["warning", "breached"], occurred_at__gte=start
                    )
                    .values("clock_id")
                    .distinct()
                    .count()
                )
                if fired >= len(ids) or any(w.poll() is not None for w in workers):
                    break
        finally:
            # Warm shutdown waits for the escalations in progress; then each worker's own
            # process group (its pool and beat) is stopped.
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait(timeout=20)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT e.clock_id, e.percent,
                   extract(epoch FROM (e.data->>'recorded_at')::timestamptz - e.occurred_at),
                   extract(epoch FROM e.handled_at - e.occurred_at),
                   extract(epoch FROM (e.data->>'written_at')::timestamptz - e.occurred_at),
                   e.occurred_at, (e.data->>'recorded_at')::timestamptz,
                   (e.data->>'written_at')::timestamptz
            FROM sla_clockevent e
            WHERE e.clock_id = ANY(%s) AND e.kind IN ('warning', 'breached')
              AND e.occurred_at >= %s
            """,
            [ids, start],
        )
        rows = [row for row in cursor.fetchall() if first_percent.get(row[0]) == row[1]]
        # The ticks that recorded something while the worker ran, and the gaps between them.
        cursor.execute(
            """
            SELECT DISTINCT (data->>'recorded_at')::timestamptz AS at FROM sla_clockevent
            WHERE kind IN ('warning', 'breached') AND occurred_at >= %s - interval '1 hour'
              AND (data->>'recorded_at')::timestamptz >= %s
            ORDER BY at
            """,
            [start, start - timedelta(seconds=5)],
        )
        ticks = [row[0] for row in cursor.fetchall()]
    gaps = [(b - a).total_seconds() for a, b in zip(ticks, ticks[1:], strict=False)]
    if gaps:
        print(
            f"  lateness: {len(ticks)} ticks recorded events; gap between them p50 "
            f"{statistics.median(gaps):.1f} s, max {max(gaps):.1f} s"
        )
    late = sorted(float(row[2]) for row in rows)
    handled = sorted(float(row[3]) for row in rows if row[3] is not None)
    written = sorted(float(row[4]) for row in rows if row[4] is not None)
    if not late:
        print(f"  lateness: nothing recorded; worker log {log}")
        return
    worst = late[-1]
    # "Within one tick interval": marked by the first tick that ran after the due time
    # (a threshold due just after a tick waits for the next one, up to one interval).
    first_tick = 0
    for row in rows:
        index = bisect.bisect_left(ticks, row[5])
        first_tick += index < len(ticks) and row[6] == ticks[index]
    after_marking = sorted((row[7] - row[6]).total_seconds() for row in rows if row[7])
    print(
        f"  lateness: {len(late)}/{len(ids)} recorded; marked (recorded_at) - due: p50 "
        f"{statistics.median(late):.1f} s, max {worst:.1f} s; event row written "
        f"(written_at) - due: p50 {statistics.median(written) if written else float('nan'):.1f}"
        f" s, max {written[-1] if written else float('nan'):.1f} s; marked by the first tick "
        f"after due: {first_tick}/{len(rows)} (tick every {args.tick_seconds} s); written "
        f"after marking: p50 {statistics.median(after_marking):.2f} s, max "
        f"{after_marking[-1]:.2f} s; "
        f"escalations handled {len(handled)}, handled_at - due p50 "
        f"{statistics.median(handled) if handled else float('nan'):.1f} s, "
        f"max {handled[-1] if handled else float('nan'):.1f} s; worker log {log}"
    )


def dashboard_section(runs: int) -> None:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone, translation

    from accounts.choices import Role
    from accounts.models import User
    from sla import selectors
    from sla.models import AttainmentRollup, Clock

    this_month = timezone.localdate().replace(day=1)
    index = this_month.year * 12 + this_month.month - 1 - 11
    date_from = this_month.replace(year=index // 12, month=index % 12 + 1)
    filters = {
        "date_from": date_from,
        "date_to": this_month,
        "kind": None,
        "metric": None,
        "service": None,
        "organisation": None,
        "priority": None,
        "support_group": None,
    }
    stopped = Clock.objects.filter(state__in=["met", "breached"]).count()
    print(
        f"  dashboard data: {stopped} stopped clocks, "
        f"{AttainmentRollup.objects.count()} rollup rows "
        f"({AttainmentRollup.objects.filter(month__gte=date_from).count()} in the 12 months)"
    )

    def keys() -> list[str]:
        result = []
        for code, _name in (("en", ""), ("zh-hans", "")):
            with translation.override(code):
                result.append(selectors.dashboard_cache_key(**filters))
        return result

    for group_by in selectors.DASHBOARD_GROUP_BYS:
        samples = timed(lambda g=group_by: selectors.attainment(group_by=g, **filters), runs)
        print(f"  attainment(group_by={group_by}) over 12 months of rollups: {summary(samples)}")

    def cold():
        cache.delete_many(keys())
        selectors.attainment_dashboard(**filters)

    print(f"  attainment_dashboard, cache cold: {summary(timed(cold, runs))}")
    selectors.attainment_dashboard(**filters)
    warm = timed(lambda: selectors.attainment_dashboard(**filters), runs)
    print(f"  attainment_dashboard, cache warm: {summary(warm)}")

    start, end = selectors._period_bounds(filters["date_from"], filters["date_to"])

    def live():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT service_id, count(*) FILTER (WHERE state = 'met'), "
                "count(*) FILTER (WHERE state = 'breached') FROM sla_clock "
                "WHERE state IN ('met', 'breached') AND stopped_at >= %s AND stopped_at < %s "
                "GROUP BY service_id",
                [start, end],
            )
            cursor.fetchall()

    print(f"  for comparison, a live GROUP BY service over the clocks: {summary(timed(live, 10))}")

    manager = (
        User.objects.filter(groups__name=Role.MANAGER, is_active=True, organisation__isnull=True)
        .order_by("pk")
        .first()
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(manager)
    cache.delete_many(keys())
    response = client.get("/sla/")
    assert response.status_code == 200, response.status_code
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        client.get("/sla/")
    warm_queries = len(queries)

    def page_cold():
        cache.delete_many(keys())
        client.get("/sla/")

    cache.delete_many(keys())
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        client.get("/sla/")
    print(
        f"  GET /sla/ (manager {manager.username}), cache cold: {summary(timed(page_cold, runs))} "
        f"({len(queries)} queries)"
    )
    client.get("/sla/")
    page_warm = timed(lambda: client.get("/sla/"), runs)
    print(f"  GET /sla/, cache warm: {summary(page_warm)} ({warm_queries} queries)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "--parts",
        default="idle,mark,lateness,dashboard",
        help="comma-separated: idle,mark,lateness,dashboard (default: all)",
    )
    parser.add_argument(
        "--sizes",
        type=_ints,
        default=[10_000, 100_000, 1_000_000],
        help="running clocks to measure at, topped up in order (default 10000,100000,1000000)",
    )
    parser.add_argument("--runs", type=int, default=200, help="runs of the idle tick (200)")
    parser.add_argument(
        "--due",
        type=_ints,
        default=[10_000, 50_000],
        help="due thresholds to mark (10000,50000)",
    )
    parser.add_argument(
        "--mark-pick",
        choices=["next", "random"],
        default="next",
        help="mark: the next thresholds in due order, or random clocks' moved (next)",
    )
    parser.add_argument("--tick-seconds", type=float, default=5.0, help="worker's tick (5)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (prefork, 2)")
    parser.add_argument(
        "--tick-queue",
        action="store_true",
        help='lateness: the production layout, a worker for the "sla" queue (tick, '
        "recording) and one for the default queue (relay, escalations); without it one "
        "worker consumes both",
    )
    parser.add_argument("--late-clocks", type=int, default=1000, help="clocks made due (1000)")
    parser.add_argument(
        "--late-window", type=int, default=60, help="seconds they come due over (60)"
    )
    parser.add_argument(
        "--late-timeout", type=int, default=60, help="seconds to wait after the window (60)"
    )
    parser.add_argument("--dashboard-runs", type=int, default=50, help="dashboard samples (50)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    django_setup()
    print(machine_speed())

    import django.db

    load = os.getloadavg()
    print(
        f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"database {django.db.connection.settings_dict['NAME']}"
    )
    sizes = args.sizes if parts & {"idle", "mark", "lateness"} else []
    for size in sizes:
        print(f"{size} running clocks:")
        _prepare(size)
        now = _drain()
        print(f"  running clocks now: {_running()}")
        if "idle" in parts:
            idle_section(size, now, args.runs)
        if "mark" in parts:
            mark_section(size, args.due, args.mark_pick)
    if "lateness" in parts:
        lateness_section(args)
    if "dashboard" in parts:
        print("SLA dashboard:")
        dashboard_section(args.dashboard_runs)
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
