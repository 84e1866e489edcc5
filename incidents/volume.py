"""Incident volumes for the benchmarks: a million incidents with their comments in minutes.

Rows go in with PostgreSQL COPY, streamed in chunks from an in-memory buffer, one
transaction per chunk (the deferred foreign-key checks of a chunk run at its commit, so
memory stays flat). Numbers are one block taken from the INC counter in a single update,
so `ticket_number_next` carries on after the block. Audit events are not written by
default (`events=True` adds one "created" event per incident): the benchmarks read queues,
pages and search, and a million events would double the run time.

Distributions: two years of history, ~8 % still open (new, assigned, in progress, pending,
mostly recent), the rest resolved or closed (3 % cancelled); priorities from the impact x
urgency matrix; assignment groups and assignees taken from the volume agents and their
group memberships (run with --users); titles from English and Chinese templates.
"""

import json
import random
import time
from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import SupportGroupMembership, User
from config_items.models import ConfigurationItem
from core.bulk_copy import copy_rows
from core.models import Comment, NumberCounter, TicketEvent

from .choices import Channel, PendingReason, ResolutionCode
from .models import Category, Incident, PriorityMatrix

OPEN_SHARE = 0.08
CANCELLED_SHARE = 0.03
HISTORY_DAYS = 730

_EN_SUBJECTS = [
    "Printer",
    "Laptop",
    "VPN",
    "Outlook",
    "ERP",
    "Shop checkout",
    "Wi-Fi",
    "Teams call",
    "Password",
    "Scanner",
    "Shared drive",
    "Payroll report",
    "Invoice run",
    "Monitor",
]
_EN_PROBLEMS = [
    "not working",
    "very slow",
    "shows error 502",
    "keeps disconnecting",
    "cannot log in",
    "crashes on start",
    "prints blank pages",
    "times out",
    "access denied",
    "data missing",
]
_EN_PLACES = ["in Building A", "at the London office", "on floor 3", "in the warehouse", ""]
_ZH_SUBJECTS = ["打印机", "笔记本电脑", "VPN", "邮箱", "收银机", "网上商城", "无线网络", "扫码枪",
                "共享盘", "报销系统", "会议室投影仪"]  # fmt: skip
_ZH_PROBLEMS = ["无法使用", "非常慢", "报错 502", "频繁断线", "无法登录", "启动后崩溃",
                "打印空白", "访问被拒绝", "数据丢失"]  # fmt: skip
_ZH_PLACES = ["（上海门店）", "（北京办公室）", "（仓库）", "（上海总部）", ""]
_COMMENTS_EN = [
    "Thanks, we are looking into it.",
    "Could you send a screenshot of the error?",
    "Restarted the service; please try again.",
    "Checked the logs, nothing unusual on the server side.",
    "It works again, thank you.",
]
_COMMENTS_ZH = [
    "我们正在处理。",
    "请提供错误截图。",
    "已重启服务，请再试一次。",
    "现在可以用了，谢谢。",
]

_OPEN_STATES = [("new", 0.10), ("assigned", 0.25), ("in_progress", 0.45), ("pending", 0.20)]
_PRIORITY_CELLS = [  # (impact, urgency) weights: most incidents are medium/low
    ((1, 1), 2), ((1, 2), 3), ((2, 1), 6), ((2, 2), 35), ((2, 3), 15),
    ((3, 1), 6), ((3, 2), 20), ((3, 3), 13),
]  # fmt: skip
_CHANNELS = [
    (Channel.PORTAL, 45),
    (Channel.EMAIL, 25),
    (Channel.PHONE, 20),
    (Channel.MONITORING, 6),
    (Channel.WALK_IN, 3),
    (Channel.API, 1),
]

_INCIDENT_COLUMNS = (
    "number", "title", "description", "priority", "created_at", "updated_at", "closed_at",
    "version", "status", "channel", "impact", "urgency", "assigned_at", "first_response_at",
    "resolved_at", "pending_reason", "resolution_code", "resolution_notes", "reopen_count",
    "cancel_reason", "is_major", "assignee_id", "assignment_group_id", "caller_id",
    "category_id", "created_by_id", "organisation_id", "service_id", "subcategory_id",
)  # fmt: skip
_COMMENT_COLUMNS = ("content_type_id", "object_id", "body", "visibility", "author_id", "created_at")
_EVENT_COLUMNS = ("content_type_id", "object_id", "event_type", "actor_id", "occurred_at", "data")


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return lambda: rng.choices(values, weights)[0]


def _number_block(size: int) -> int:
    """Take `size` numbers from the INC counter at once; returns the first of the block."""
    table = NumberCounter._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (prefix, last_value) VALUES (%s, %s) "  # noqa: S608
            f"ON CONFLICT (prefix) DO UPDATE SET last_value = {table}.last_value + %s "
            "RETURNING last_value",
            [Incident.NUMBER_PREFIX, size, size],
        )
        last = cursor.fetchone()[0]
    return last - size + 1


def volume_title(rng: random.Random) -> tuple[str, bool]:
    """A title of the volume data (one in five in Chinese), and whether it is Chinese:
    also the titles of the benchmark's creates, so that they keep the data's mix of
    search terms."""
    if rng.random() < 0.2:
        return rng.choice(_ZH_PLACES) + rng.choice(_ZH_SUBJECTS) + rng.choice(_ZH_PROBLEMS), True
    title = f"{rng.choice(_EN_SUBJECTS)} {rng.choice(_EN_PROBLEMS)}"
    place = rng.choice(_EN_PLACES)
    return (f"{title} {place}" if place else title), False


def incident_volume_seed(
    *,
    incidents: int,
    comments_per_incident: float = 2.0,
    events: bool = False,
    seed: int = 3,
    log=None,
) -> dict[str, int]:
    """COPY `incidents` incidents and round(incidents * comments_per_incident) comments
    (plus a "created" event per incident with `events`) on top of what exists."""
    if incidents <= 0:
        return {}
    log = log or (lambda message: None)
    rng = random.Random(seed)  # noqa: S311 - reproducible benchmark data, not security
    started = time.perf_counter()
    now = timezone.now()

    customers = list(
        User.objects.filter(organisation__isnull=False, is_active=True).values_list(
            "pk", "organisation_id"
        )
    )
    members: dict[int, list[int]] = {}
    for group_id, user_id in SupportGroupMembership.objects.values_list("group_id", "user_id"):
        members.setdefault(group_id, []).append(user_id)
    agents = sorted({u for users in members.values() for u in users})
    if not customers or not agents:
        raise ValueError("seed users first (seed_volume --users N): no customers or agents")
    group_ids = sorted(members)
    services = list(
        ConfigurationItem.objects.exclude(ci_class__service_kind="").values_list("pk", flat=True)
    )[:200]
    subcategories = list(
        Category.objects.filter(parent__isnull=False).values_list("pk", "parent_id")
    )
    matrix = {(c.impact, c.urgency): c.priority for c in PriorityMatrix.objects.all()}
    pick_cell = _weighted(rng, _PRIORITY_CELLS)
    pick_channel = _weighted(rng, _CHANNELS)
    pick_open_state = _weighted(rng, _OPEN_STATES)
    resolutions = [c for c in ResolutionCode.values if c != ResolutionCode.SOLVED_BY_PARENT]

    first = _number_block(incidents)
    created_at: list[datetime] = []
    ended_at: list[datetime] = []
    callers: list[int] = []
    helpers: list[int | None] = []
    zh: list[bool] = []

    def incident_rows():
        for i in range(incidents):
            is_open = rng.random() < OPEN_SHARE
            if is_open:
                # Backlogs are young: most open incidents are days old, a few months.
                age = min(HISTORY_DAYS, rng.expovariate(1 / 6)) * 86400
            else:
                age = rng.uniform(0, HISTORY_DAYS * 86400)
            created = now - timedelta(seconds=age)
            caller_id, organisation_id = rng.choice(customers)
            title, chinese = volume_title(rng)
            impact, urgency = pick_cell()
            subcategory_id, category_id = (
                rng.choice(subcategories) if subcategories else (None,) * 2
            )
            group_id = rng.choice(group_ids)
            assignee_id = rng.choice(members[group_id])
            status = "closed"
            assigned_at = created + timedelta(minutes=rng.uniform(1, 60))
            first_response = assigned_at + timedelta(minutes=rng.uniform(1, 120))
            resolved = first_response + timedelta(hours=rng.lognormvariate(1.5, 1.2))
            closed = resolved + timedelta(days=rng.uniform(0.5, 5))
            pending_reason = resolution_code = notes = cancel_reason = ""
            if is_open:
                status = pick_open_state()
                resolved = closed = None
                if status == "new":
                    assignee_id = assigned_at = first_response = None
                    group_id = None if rng.random() < 0.5 else group_id
                elif status == "assigned":
                    first_response = None
                    assignee_id = None if rng.random() < 0.3 else assignee_id
                elif status == "pending":
                    pending_reason = rng.choice(PendingReason.values)
                end = now
            elif rng.random() < CANCELLED_SHARE / (1 - OPEN_SHARE):
                status = "cancelled"
                cancel_reason = "Logged twice."
                resolved = first_response = None
                closed = assigned_at + timedelta(minutes=rng.uniform(5, 600))
                end = closed
            else:
                if closed > now:
                    status, closed = "resolved", None
                resolved = min(resolved, now)
                resolution_code = rng.choice(resolutions)
                notes = "Fixed; confirmed with the caller."
                end = resolved
            created_at.append(created)
            ended_at.append(end)
            callers.append(caller_id)
            helpers.append(assignee_id)
            zh.append(chinese)
            yield (
                f"{Incident.NUMBER_PREFIX}{first + i:07d}",
                title,
                f"{title}. Reported via the service desk.",
                matrix.get((impact, urgency), 3),
                created,
                end,
                closed,
                rng.randint(1, 6),
                status,
                pick_channel(),
                impact,
                urgency,
                assigned_at,
                first_response,
                resolved,
                pending_reason,
                resolution_code,
                notes,
                1 if status in ("closed", "resolved") and rng.random() < 0.03 else 0,
                cancel_reason,
                False,
                assignee_id,
                group_id,
                caller_id,
                category_id,
                caller_id,
                organisation_id,
                rng.choice(services) if services and rng.random() < 0.6 else None,
                subcategory_id,
            )

    count = copy_rows(Incident._meta.db_table, _INCIDENT_COLUMNS, incident_rows())
    log(f"incidents: {count} in {time.perf_counter() - started:.1f} s")

    # The ids PostgreSQL gave the block, in number order.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Incident._meta.db_table} WHERE number >= %s AND number <= %s "  # noqa: S608
            "ORDER BY number",
            [
                f"{Incident.NUMBER_PREFIX}{first:07d}",
                f"{Incident.NUMBER_PREFIX}{first + incidents - 1:07d}",
            ],
        )
        ids = [row[0] for row in cursor.fetchall()]
    content_type = ContentType.objects.get_for_model(Incident).pk
    total_comments = round(incidents * comments_per_incident)

    def comment_rows():
        for _n in range(total_comments):
            i = rng.randrange(incidents)
            span = (ended_at[i] - created_at[i]).total_seconds()
            moment = created_at[i] + timedelta(seconds=rng.uniform(0, max(span, 60)))
            from_agent = helpers[i] is not None and rng.random() < 0.6
            texts = _COMMENTS_ZH if zh[i] else _COMMENTS_EN
            visibility = "work_note" if from_agent and rng.random() < 0.25 else "public"
            yield (
                content_type,
                ids[i],
                rng.choice(texts),
                visibility,
                helpers[i] if from_agent else callers[i],
                min(moment, now),
            )

    step = time.perf_counter()
    comments = copy_rows(Comment._meta.db_table, _COMMENT_COLUMNS, comment_rows())
    log(f"comments: {comments} in {time.perf_counter() - step:.1f} s")
    result = {"incidents": count, "comments": comments}
    if events:
        step = time.perf_counter()
        data = json.dumps({"channel": "portal", "volume": True})
        result["incident events"] = copy_rows(
            TicketEvent._meta.db_table,
            _EVENT_COLUMNS,
            (
                (content_type, ids[i], "created", callers[i], created_at[i], data)
                for i in range(incidents)
            ),
        )
        log(f"events: {result['incident events']} in {time.perf_counter() - step:.1f} s")
    step = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Incident._meta.db_table}")
        cursor.execute(f"ANALYZE {Comment._meta.db_table}")
        if events:
            cursor.execute(f"ANALYZE {TicketEvent._meta.db_table}")
    log(f"analyze: {time.perf_counter() - step:.1f} s; total {time.perf_counter() - started:.1f} s")
    return result


def incident_volume_seed_from_options(options: dict) -> dict[str, int]:
    """seed_volume entry point: --incidents and --comments-per-incident."""
    if not options.get("incidents"):
        return {}
    return incident_volume_seed(
        incidents=options["incidents"],
        comments_per_incident=options.get("comments_per_incident", 2.0),
        seed=options.get("seed", 1) + 2,
        log=print,
    )
