"""Demo incidents: a realistic last month of the service desk of the demo organisations.

Every incident goes through the services, so numbers, audit events, comments, ratings and
outbox messages are the real thing. The services stamp `timezone.now()`; to give the
month a believable timeline (events included, which are append-only and cannot be
back-dated afterwards) the loader runs each step on a simulated clock. Idempotent: the
major incident on the Online shop marks the set as loaded.
"""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.choices import Language, Role
from accounts.models import Organisation, SupportGroup, User
from accounts.services import support_group_add_member, user_set_roles
from config_items.models import ConfigurationItem
from core.choices import CommentVisibility
from core.models import OutboxMessage

from .choices import Channel, PendingReason, ResolutionCode
from .models import AssignmentRule, Category, Incident
from .services import (
    incident_assign,
    incident_cancel,
    incident_close,
    incident_comment,
    incident_confirm_resolution,
    incident_create,
    incident_declare_major,
    incident_major_update,
    incident_pend,
    incident_rate,
    incident_reject_resolution,
    incident_resolve,
    incident_resume,
    incident_start,
    incident_watch,
)

MAJOR_TITLE = "Online shop: checkout fails for all customers"
DAYS = 30
PUBLIC = CommentVisibility.PUBLIC
WORK_NOTE = CommentVisibility.WORK_NOTE

_ORG_CODES = ["acme", "bluebird", "pearl-retail"]

# Callers besides the core demo customers: a service desk sees many faces in a month.
# username, first, last, organisation code, language, time zone
_CALLERS = [
    ("jdupont", "Julien", "Dupont", "acme", "en", "Europe/Paris"),
    ("ehughes", "Emma", "Hughes", "acme", "en", "Europe/London"),
    ("mgarcia", "Maria", "Garcia", "bluebird", "en", "America/New_York"),
    ("tokafor", "Tunde", "Okafor", "bluebird", "en", "America/Chicago"),
    ("zhangwei", "伟", "张", "pearl-retail", "zh-hans", "Asia/Shanghai"),
    ("liuyang", "洋", "刘", "pearl-retail", "zh-hans", "Asia/Shanghai"),
]

# Assignment rules an administrator would set up first.
_RULES = [
    (10, None, "Online shop", "Application Support"),
    (20, None, "Order to cash (ERP)", "Application Support"),
    (30, "Network", None, "Network Operations"),
    (40, "Email", None, "Service Desk"),
]


@dataclass(frozen=True)
class _Template:
    title: str
    category: str
    subcategory: str
    service: str | None
    cis: tuple[str, ...]
    group: str
    impact: int
    urgency: int
    orgs: tuple[str, ...]  # who reports it ("" = internal staff)


_EN = ("acme", "bluebird")
_T = _Template
# fmt: off
_TEMPLATES = [
    _T("Checkout page times out", "Software", "Performance", "Online shop",
       ("Shop web app",), "Application Support", 2, 1, ("acme",)),
    _T("Payment step fails with error 502", "Software", "Application error", "Online shop",
       ("Shop web app", "web-01"), "Application Support", 2, 1, ("acme",)),
    _T("Product images not loading in the shop", "Software", "Application error",
       "Online shop", ("Shop web app",), "Application Support", 3, 2, ("acme",)),
    _T("Shop search returns no results for some products", "Software", "Application error",
       "Online shop", ("Shop web app", "shop-db"), "Application Support", 3, 2, ("acme",)),
    _T("Cannot send e-mail to external addresses", "Email", "Delivery", "Email",
       ("Exchange",), "Service Desk", 2, 2, _EN),
    _T("Outlook keeps asking for my password", "Email", "Mailbox", "Email", ("Exchange",),
       "Service Desk", 3, 2, _EN),
    _T("Shared mailbox no longer visible", "Email", "Mailbox", "Email", ("Exchange",),
       "Service Desk", 3, 3, _EN),
    _T("Meeting invitations not arriving", "Email", "Calendar", "Email", ("Exchange",),
       "Service Desk", 3, 2, _EN),
    _T("ERP invoice run failed overnight", "Software", "Application error",
       "Order to cash (ERP)", ("ERP", "erp-db"), "Application Support", 2, 1, ("bluebird",)),
    _T("Cannot post goods receipt in ERP", "Software", "Application error",
       "Order to cash (ERP)", ("ERP",), "Application Support", 2, 2, ("bluebird",)),
    _T("ERP very slow when creating sales orders", "Software", "Performance",
       "Order to cash (ERP)", ("ERP", "erp-db"), "Application Support", 2, 2, ("bluebird",)),
    _T("Laptop does not start after update", "Hardware", "Desktop / laptop", None, (),
       "Service Desk", 3, 2, _EN),
    _T("Printer on the 3rd floor keeps jamming", "Hardware", "Printer", None, (),
       "Service Desk", 3, 3, _EN),
    _T("VPN disconnects every few minutes", "Network", "VPN", None, ("fw-edge-01",),
       "Network Operations", 3, 2, _EN),
    _T("Wi-Fi in meeting room B unreliable", "Network", "Wi-Fi", None, ("core-sw-01",),
       "Network Operations", 3, 3, _EN),
    _T("Account locked after password change", "Access", "Account locked", None, (),
       "Service Desk", 3, 1, _EN),
    _T("Need access to the finance share", "Access", "Permissions", None, (),
       "Service Desk", 3, 3, _EN),
    _T("Suspicious e-mail asking to confirm my bank details", "Security", "Phishing", "Email",
       ("Exchange",), "Service Desk", 2, 2, _EN),
    _T("Backup job of db-01 failed", "Hardware", "Server", None, ("db-01", "erp-db"),
       "Database Administration", 2, 2, ("",)),
    _T("Disk space warning on esx-host-02", "Hardware", "Server", None, ("esx-host-02",),
       "Network Operations", 3, 2, ("",)),
    _T("上海徐汇门店收银机无法打印小票", "Hardware", "Printer", None, (), "Service Desk", 3, 1,
       ("pearl-retail",)),
    _T("网上商城结账页面超时", "Software", "Performance", "Online shop", ("Shop web app",),
       "Application Support", 2, 1, ("pearl-retail",)),
    _T("网上商城支付失败，错误代码 502", "Software", "Application error", "Online shop",
       ("Shop web app", "web-02"), "Application Support", 2, 1, ("pearl-retail",)),
    _T("上海办公室 Wi-Fi 经常断线", "Network", "Wi-Fi", None, ("core-sw-01",),
       "Network Operations", 3, 2, ("pearl-retail",)),
    _T("VPN 连接频繁断开", "Network", "VPN", None, ("fw-edge-01",), "Network Operations", 3, 2,
       ("pearl-retail",)),
    _T("无法发送外部邮件", "Email", "Delivery", "Email", ("Exchange",), "Service Desk", 2, 2,
       ("pearl-retail",)),
    _T("Outlook 一直提示输入密码", "Email", "Mailbox", "Email", ("Exchange",), "Service Desk", 3,
       2, ("pearl-retail",)),
    _T("账户被锁定，无法登录", "Access", "Account locked", None, (), "Service Desk", 3, 1,
       ("pearl-retail",)),
    _T("上海仓库扫码枪无法连接系统", "Hardware", "Mobile device", None, (), "Service Desk", 3, 2,
       ("pearl-retail",)),
]
# fmt: on

_EN_TEXT = {
    "description": "Reported by {caller}. Started this morning; colleagues see the same.",
    "ask": "Thanks for reporting this. Could you send a screenshot of the error and the time "
    "it happened?",
    "answer": "Screenshot attached in the e-mail; it happened at about 09:40 and again just now.",
    "note": "Checked the logs: matches the known pattern, applying the usual fix.",
    "update": "We are working on it and will update you within the hour.",
    "resolution": "Root cause found and fixed; verified with the caller.",
    "reopen": "Still happening this morning, sorry.",
    "rating": ["Quick and friendly, thank you!", "Fixed, but it took a while.", ""],
}
_ZH_TEXT = {
    "description": "{caller} 报告。今天早上开始出现，同事也遇到同样的问题。",
    "ask": "感谢您的报告。请发送错误截图并告知发生的时间。",
    "answer": "截图已通过邮件发送，大约 9:40 出现，刚才又出现了一次。",
    "note": "Checked the logs: matches the known pattern, applying the usual fix.",
    "update": "我们正在处理，一小时内会向您更新进展。",
    "resolution": "已找到根本原因并修复，已与报告人确认。",
    "reopen": "今天早上问题依然存在。",
    "rating": ["处理很快，谢谢！", "问题解决了，但花了一些时间。", ""],
}

_RESOLUTION_CODES = [
    ResolutionCode.SOLVED_PERMANENTLY,
    ResolutionCode.SOLVED_PERMANENTLY,
    ResolutionCode.SOLVED_WORKAROUND,
    ResolutionCode.USER_ERROR,
    ResolutionCode.NOT_REPRODUCIBLE,
]


@dataclass
class _Clock:
    """The simulated time the services read while the demo is written."""

    moment: datetime
    tick: int = 0

    def now(self) -> datetime:
        # A microsecond per call keeps the order of events created in one step.
        self.tick += 1
        return self.moment + timedelta(microseconds=self.tick)


@contextmanager
def _simulated_clock(clock: _Clock) -> Iterator[None]:
    """Point django.utils.timezone.now (auto_now fields, services) at the demo clock.

    Only for this one-off loader in a management command: nothing else runs in the
    process meanwhile, and the real clock is restored however the load ends.
    """
    real = timezone.now
    timezone.now = clock.now
    try:
        yield
    finally:
        timezone.now = real


@dataclass
class _Story:
    """When an incident of the month was logged; its steps follow from `_plan`."""

    created: datetime


def _working_time(rng: random.Random, now: datetime) -> datetime:
    """A moment in the last month, mostly in office hours on working days."""
    while True:
        moment = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        weekend = moment.weekday() >= 5
        office = 7 <= moment.hour < 19
        if (office and not weekend) or rng.random() < 0.12:
            return moment


def _callers() -> dict[str, list[User]]:
    """Demo customers by organisation code (created here if missing), plus internal staff."""
    organisations = {o.code: o for o in Organisation.objects.filter(code__in=_ORG_CODES)}
    password = None
    for username, first, last, org_code, language, tz in _CALLERS:
        if org_code not in organisations or User.objects.filter(username=username).exists():
            continue
        password = password or make_password("Demo!2026")
        user = User.objects.create(
            username=username,
            first_name=first,
            last_name=last,
            email=f"{username}@{org_code}.example.com",
            organisation=organisations[org_code],
            language=Language(language),
            time_zone=tz,
            password=password,
        )
        user_set_roles(user=user, roles=[Role.CUSTOMER], actor=None)
    by_org: dict[str, list[User]] = {}
    customers = User.objects.filter(organisation__code__in=_ORG_CODES, is_active=True)
    for user in customers.select_related("organisation").order_by("pk"):
        by_org.setdefault(user.organisation.code, []).append(user)
    by_org[""] = list(User.objects.filter(username__in=["lchen", "nkumar"]).order_by("pk"))
    return by_org


def _rules(groups: dict[str, SupportGroup], services: dict[str, ConfigurationItem]) -> None:
    for order, category_name, service_name, group_name in _RULES:
        category = Category.objects.filter(name=category_name, parent=None).first()
        service = services.get(service_name) if service_name else None
        if (category_name and category is None) or (service_name and service is None):
            continue
        AssignmentRule.objects.get_or_create(
            category=category,
            service=service,
            defaults={"order": order, "group": groups[group_name]},
        )


@transaction.atomic
def incident_demo_load() -> dict[str, int]:
    """Create about 200 incidents over the last 30 days, unless they exist already."""
    if Incident.objects.filter(title=MAJOR_TITLE, is_major=True).exists():
        return {"incidents": 0}
    agents = {
        u.username: u
        for u in User.objects.filter(username__in=["agent", "lchen", "nkumar", "manager"])
    }
    groups = {g.name: g for g in SupportGroup.objects.all()}
    if len(agents) < 4 or not groups:
        return {"incidents": 0}  # core demo data missing: nothing to build on
    services = {ci.name: ci for ci in ConfigurationItem.objects.select_related("ci_class")}
    categories = {
        (c.parent.name if c.parent_id else None, c.name): c
        for c in Category.objects.select_related("parent")
    }
    _rules(groups, services)
    callers = _callers()
    # Application Support has no members in the core demo; Li Chen covers it.
    for name in ("Application Support",):
        if name in groups and not groups[name].members.exists():
            support_group_add_member(group=groups[name], user=agents["lchen"], actor=None)
    members = {name: list(group.members.all()) for name, group in groups.items()}
    rng = random.Random(2026)  # noqa: S311 - reproducible demo data, not security
    real_now = timezone.now()
    outbox_before = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first()
    clock = _Clock(real_now)
    created = 0
    with _simulated_clock(clock):
        # The month's routine ends three hours ago; then the shop outage and the newest
        # portal incidents, so numbers follow the time of logging.
        routine_end = real_now - timedelta(hours=3)
        stories = [_Story(created=_working_time(rng, routine_end)) for _ in range(190)]
        stories.sort(key=lambda story: story.created)
        for story in stories:
            template = rng.choice(_TEMPLATES)
            org_code = rng.choice(template.orgs)
            if not callers.get(org_code):
                continue
            caller = rng.choice(callers[org_code])
            text = _ZH_TEXT if org_code == "pearl-retail" else _EN_TEXT
            group_members = members.get(template.group) or [agents["agent"]]
            assignee = rng.choice(group_members)
            incident = _create(
                clock,
                story.created,
                rng,
                template,
                caller,
                agents,
                groups,
                services,
                categories,
                text,
            )
            created += 1
            plan = _plan(
                rng, story, caller, assignee, groups[template.group], agents, text, real_now
            )
            _play(clock, incident, plan, real_now)
        created += _major_incident(clock, real_now, agents, groups, services, categories, callers)
        created += _just_logged(clock, real_now, callers, categories)
    # Notifications of the past month are history; only the last day's are still delivered.
    stale = OutboxMessage.objects.filter(created_at__lt=real_now - timedelta(days=1))
    if outbox_before:
        stale = stale.filter(pk__gt=outbox_before)
    stale.update(dispatched_at=real_now)
    return {"incidents": created}


def _create(clock, moment, rng, template, caller, agents, groups, services, categories, text):
    clock.moment, clock.tick = moment, 0
    category = categories.get((None, template.category))
    subcategory = categories.get((template.category, template.subcategory))
    service = services.get(template.service) if template.service else None
    cis = [services[name] for name in template.cis if name in services]
    fields = {
        "title": template.title,
        "description": text["description"].format(caller=caller),
        "caller": caller,
        "service": service,
        "configuration_items": cis,
        "category": category,
        "subcategory": subcategory,
        "impact": template.impact,
        "urgency": template.urgency,
    }
    if caller.is_customer and rng.random() < 0.55:
        return incident_create(actor=caller, channel=Channel.PORTAL, **fields)
    channel = rng.choice([Channel.PHONE, Channel.PHONE, Channel.EMAIL, Channel.WALK_IN])
    if not caller.is_customer:
        channel = Channel.MONITORING
    return incident_create(actor=agents["agent"], channel=channel, **fields)


def _plan(rng, story, caller, assignee, group, agents, text, real_now) -> list:
    """The steps of an incident's life from its creation, each at its own moment."""
    t = story.created
    steps = []

    def at(delay_minutes: float, action) -> None:
        nonlocal t
        t = t + timedelta(minutes=delay_minutes)
        steps.append((t, action))

    roll = rng.random()
    manager = agents["manager"]
    if real_now - story.created < timedelta(hours=36) and roll > 0.6:
        return steps  # just logged: still waiting in the queue
    if roll < 0.04:
        # Logged by mistake or raised twice: a manager cancels it.
        at(
            rng.uniform(20, 240),
            lambda i: incident_cancel(
                actor=manager, incident=i, reason="Duplicate of an incident already logged."
            ),
        )
        return steps
    at(
        rng.uniform(2, 25),
        lambda i: incident_assign(
            actor=agents["agent"], incident=i, group=group, assignee=assignee
        ),
    )
    at(rng.uniform(5, 90), lambda i: incident_start(actor=assignee, incident=i))
    if rng.random() < 0.5:
        at(
            rng.uniform(5, 60),
            lambda i: incident_comment(
                actor=assignee, incident=i, body=text["note"], visibility=WORK_NOTE
            ),
        )
    if rng.random() < 0.35:
        at(
            rng.uniform(5, 120),
            lambda i: incident_comment(
                actor=assignee, incident=i, body=text["ask"], visibility=PUBLIC
            ),
        )
        at(
            0.5,
            lambda i: incident_pend(
                actor=assignee, incident=i, reason=PendingReason.AWAITING_CUSTOMER
            ),
        )
        if caller.is_customer and real_now - story.created < timedelta(days=7) and roll < 0.4:
            return steps  # still waiting for the customer's answer
        if caller.is_customer:
            # The customer's reply takes it off hold by itself.
            at(
                rng.uniform(60, 60 * 24 * 4),
                lambda i: incident_comment(
                    actor=caller, incident=i, body=text["answer"], visibility=PUBLIC
                ),
            )
        else:
            at(rng.uniform(60, 600), lambda i: _resume(i, assignee))
    elif rng.random() < 0.1:
        reason = rng.choice([PendingReason.AWAITING_VENDOR, PendingReason.AWAITING_CHANGE])
        at(rng.uniform(30, 240), lambda i: incident_pend(actor=assignee, incident=i, reason=reason))
        at(rng.uniform(60 * 6, 60 * 72), lambda i: _resume(i, assignee))
    else:
        at(
            rng.uniform(10, 180),
            lambda i: incident_comment(
                actor=assignee, incident=i, body=text["update"], visibility=PUBLIC
            ),
        )
    code = rng.choice(_RESOLUTION_CODES)
    at(
        _work_minutes(rng),
        lambda i: incident_resolve(actor=assignee, incident=i, code=code, notes=text["resolution"]),
    )
    if caller.is_customer and rng.random() < 0.08:
        # The fix did not hold: the customer rejects the resolution, the agent tries again.
        at(
            rng.uniform(60, 60 * 20),
            lambda i: incident_reject_resolution(actor=caller, incident=i, reason=text["reopen"]),
        )
        at(
            rng.uniform(30, 60 * 8),
            lambda i: incident_resolve(
                actor=assignee,
                incident=i,
                code=ResolutionCode.SOLVED_PERMANENTLY,
                notes=text["resolution"],
            ),
        )
    if caller.is_customer and rng.random() < 0.6:
        at(
            rng.uniform(30, 60 * 48),
            lambda i: incident_confirm_resolution(actor=caller, incident=i),
        )
        if rng.random() < 0.7:
            score = rng.choice([5, 5, 5, 4, 4, 4, 3, 2])
            remark = text["rating"][0 if score >= 4 else 1 if score == 3 else 2]
            at(
                rng.uniform(1, 30),
                lambda i: incident_rate(actor=caller, incident=i, score=score, comment=remark),
            )
    else:
        # Nobody confirmed: the scheduled job closes it after the configured days.
        at(5 * 24 * 60 + rng.uniform(10, 120), lambda i: incident_close(actor=None, incident=i))
    return steps


def _work_minutes(rng: random.Random) -> float:
    """Time to a fix: most within hours, some take days (long tail, as in real desks)."""
    roll = rng.random()
    if roll < 0.5:
        return rng.uniform(30, 60 * 8)
    if roll < 0.85:
        return rng.uniform(60 * 8, 60 * 72)
    return rng.uniform(60 * 72, 60 * 24 * 10)


def _resume(incident: Incident, actor: User) -> Incident:
    return incident_resume(actor=actor, incident=incident)


def _play(clock: _Clock, incident: Incident, steps: list, real_now: datetime) -> None:
    """Run the steps whose moment has come; later ones are the incident's future."""
    for moment, action in steps:
        if moment >= real_now:
            return
        clock.moment, clock.tick = moment, 0
        incident.refresh_from_db()
        action(incident)


def _just_logged(clock, real_now, callers, categories) -> int:
    """A few incidents raised in the portal in the last hour, not triaged yet (state new:
    no assignment rule covers hardware and access)."""
    fresh = [
        ("acme", "Docking station no longer detects the second monitor", "Desktop / laptop"),
        ("pearl-retail", "新员工无法登录门店系统", "Account locked"),
        ("bluebird", "Label printer in the warehouse prints blank labels", "Printer"),
    ]
    parents = {"Desktop / laptop": "Hardware", "Printer": "Hardware", "Account locked": "Access"}
    created = 0
    for n, (org_code, title, sub) in enumerate(fresh):
        pool = callers.get(org_code) or []
        if not pool:
            continue
        clock.moment, clock.tick = real_now - timedelta(minutes=75 - 25 * n), 0
        caller = pool[-1]
        incident_create(
            actor=caller,
            title=title,
            description=title,
            channel=Channel.PORTAL,
            category=categories.get((None, parents[sub])),
            subcategory=categories.get((parents[sub], sub)),
            impact=3,
            urgency=2,
        )
        created += 1
    return created


def _major_incident(clock, real_now, agents, groups, services, categories, callers) -> int:
    """The Online shop is down right now: a major incident, customer incidents as its
    children and a communications log. Returns the number of incidents created."""
    manager, agent = agents["manager"], agents["agent"]
    shop = services.get("Online shop")
    group = groups["Application Support"]
    engineer = agents["lchen"]
    if not group.members.filter(pk=engineer.pk).exists():
        engineer = group.members.first() or agent
    start = real_now - timedelta(hours=2, minutes=40)
    clock.moment, clock.tick = start, 0
    major = incident_create(
        actor=agent,
        caller=agent,
        title=MAJOR_TITLE,
        description="Monitoring: checkout error rate 100 % since 2 minutes. "
        "Shop web app returns 500 on /checkout.",
        channel=Channel.MONITORING,
        service=shop,
        configuration_items=[services[n] for n in ("Shop web app", "shop-db") if n in services],
        category=categories.get((None, "Software")),
        subcategory=categories.get(("Software", "Application error")),
        impact=1,
        urgency=1,
        assignment_group=group,
    )
    timeline = [
        (4, lambda i: incident_declare_major(actor=manager, incident=i, manager=manager)),
        (1, lambda i: incident_assign(actor=manager, incident=i, group=group, assignee=engineer)),
        (2, lambda i: incident_start(actor=engineer, incident=i)),
        (
            3,
            lambda i: incident_major_update(
                actor=manager,
                incident=i,
                body="We are aware that customers cannot complete orders in the online shop. "
                "Engineers are investigating. Next update in 30 minutes.",
            ),
        ),
        (
            10,
            lambda i: incident_comment(
                actor=engineer,
                incident=i,
                visibility=WORK_NOTE,
                body="shop-db connection pool exhausted after last night's release; "
                "rolling back web tier config.",
            ),
        ),
        (
            25,
            lambda i: incident_major_update(
                actor=manager,
                incident=i,
                body="Cause identified: a configuration change of last night. Rolling back; "
                "orders placed before 10:00 are safe. 网上商城结账故障原因已查明，正在回滚。",
            ),
        ),
        (
            40,
            lambda i: incident_major_update(
                actor=manager,
                incident=i,
                body="Rollback in progress on web-02; web-01 done. Checkout works for some "
                "customers again. Next update in 30 minutes.",
            ),
        ),
    ]
    clock.moment = start
    for minutes, action in timeline:
        clock.moment, clock.tick = clock.moment + timedelta(minutes=minutes), 0
        major.refresh_from_db()
        action(major)
    incident_watch(actor=manager, incident=major, user=manager)
    created = 1
    children = [
        ("acme", "Cannot complete my order, checkout shows an error"),
        ("acme", "Checkout error 500"),
        ("pearl-retail", "网上商城无法下单"),
        ("pearl-retail", "结账时页面报错"),
        ("bluebird", "Our staff cannot order from the Acme shop"),
    ]
    for n, (org_code, title) in enumerate(children):
        pool = callers.get(org_code) or []
        if not pool:
            continue
        clock.moment, clock.tick = start + timedelta(minutes=6 + 7 * n), 0
        caller = pool[n % len(pool)]
        incident_create(
            actor=agent,
            caller=caller,
            title=title,
            channel=Channel.PHONE,
            service=shop,
            category=categories.get((None, "Software")),
            subcategory=categories.get(("Software", "Application error")),
            impact=3,
            urgency=1,
            assignment_group=group,
            parent=major,
        )
        created += 1
    return created
