"""The access matrix: every URL pattern of the site, requested as every role.

Each pattern of `itsm.urls` (walked recursively through includes; Django admin counts
once, as its index) must have a rule in ACCESS saying what each role gets. A pattern
without a rule fails the suite, so every new page or endpoint declares its access policy
the day it is added.

Outcomes:
  200, 403, 404, 405, ...   exactly that status
  LOGIN                      302 to the login page with ?next=<the requested path>
  redirect("/portal/")       302 to that path
  (200, 503)                 any of these statuses
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.services import api_token_create
from config_items.imports import import_job_create
from config_items.services import baseline_create
from core.services import attachment_add
from incidents import services as incident_services
from incidents.services import incident_create
from notifications.models import Notification
from tests.config_items.conftest import cmdb_defaults_create
from tests.config_items.factories import ConfigurationItemFactory, RelationshipFactory, ci_class
from tests.core.factories import DemoTicketFactory
from tests.factories import SupportGroupFactory
from tests.incidents.factories import IncidentFactory
from tests.sla.factories import (
    CalendarDayFactory,
    ClockFactory,
    ServiceOutageFactory,
    TargetFactory,
)

ROLES = ("anonymous", "customer_a", "customer_b", "agent", "manager", "administrator")
STAFF = ("agent", "manager", "administrator")
CUSTOMERS = ("customer_a", "customer_b")
LOGIN = "login"


def redirect(path: str) -> str:
    return f"redirect:{path}"


def roles(default: Any = None, **outcomes: Any) -> dict[str, Any]:
    """Outcome per role: `default` for every role not named."""
    table = dict.fromkeys(ROLES, default)
    table.update(outcomes)
    missing = [role for role, outcome in table.items() if outcome is None]
    assert not missing, f"no outcome for {missing}"
    return table


def staff_only(ok: Any = 200, customers: Any = 403, anonymous: Any = 401) -> dict[str, Any]:
    return roles(ok, anonymous=anonymous, customer_a=customers, customer_b=customers)


MANAGERS_ONLY = roles(200, anonymous=401, customer_a=403, customer_b=403, agent=403)
# Workspace pages: customers who open one are sent to the portal, anonymous to sign in.
WORKSPACE = roles(
    200, anonymous=LOGIN, customer_a=redirect("/portal/"), customer_b=redirect("/portal/")
)
WORKSPACE_MANAGERS = {**WORKSPACE, "agent": 403}
# Workspace form posts: refused to customers; staff are redirected back to the page.
WORKSPACE_POST = roles(302, anonymous=LOGIN, customer_a=403, customer_b=403)
WORKSPACE_MANAGERS_POST = {**WORKSPACE_POST, "agent": 403}


@dataclass
class Sample:
    """The objects sample URL kwargs are built from (created per test, real rows)."""

    users: dict[str, Any]
    org_a: Any
    org_b: Any
    _cache: dict = field(default_factory=dict)

    def support_group(self):
        if "group" not in self._cache:
            group = SupportGroupFactory(name="Service desk", manager=self.users["manager"])
            group.members.add(self.users["agent"])
            self._cache["group"] = group
        return self._cache["group"]

    def service(self):
        """A business service of organisation A (customers of A may see it)."""
        if "service" not in self._cache:
            service = ConfigurationItemFactory(
                name="Online shop", ci_class=ci_class("business_service")
            )
            service.organisations.set([self.org_a])
            app = ConfigurationItemFactory(name="shop-app")
            RelationshipFactory(source=service, target=app)
            self._cache["service"] = service
        return self._cache["service"]

    def fresh_ci(self):
        """A new planned application on every call (a transition must not spoil the next)."""
        return ConfigurationItemFactory()

    def relationship(self):
        return self.service().outgoing.get()

    def import_job(self):
        if "import" not in self._cache:
            self._cache["import"] = import_job_create(
                actor=self.users["manager"],
                ci_class=ci_class("server"),
                file_name="s.csv",
                content=b"name\nweb-1\n",
            )
        return self._cache["import"]

    def baseline(self):
        if "baseline" not in self._cache:
            self._cache["baseline"] = baseline_create(
                actor=self.users["manager"], name="Go-live", cis=[self.service()]
            )
        return self._cache["baseline"]

    def attachment(self):
        """A public attachment on a ticket of organisation A."""
        ticket = DemoTicketFactory(organisation=self.org_a)
        return attachment_add(
            ticket=ticket,
            actor=self.users["customer_a"],
            uploaded_file=SimpleUploadedFile("error.txt", b"disk full"),
        )

    def fresh_relationship(self):
        """A new relationship on every call (removing one must not spoil the next)."""
        return RelationshipFactory()

    def portal_incident(self):
        """An incident raised by customer A in the portal."""
        if "portal_incident" not in self._cache:
            self._cache["portal_incident"] = incident_create(
                actor=self.users["customer_a"], title="Printer jams", description="Floor 2"
            )
        return self._cache["portal_incident"]

    def api_incident(self, state: str = "new"):
        """A new incident of customer A moved to `state`, on every call (a transition must
        not spoil the next role's request)."""
        users = self.users
        incident = incident_services.incident_create(actor=users["customer_a"], title="No VPN")
        if state == "new":
            return incident
        incident = incident_services.incident_assign(
            actor=users["manager"],
            incident=incident,
            group=self.support_group(),
            assignee=users["agent"],
        )
        incident = incident_services.incident_start(actor=users["agent"], incident=incident)
        if state == "pending":
            return incident_services.incident_pend(
                actor=users["agent"], incident=incident, reason="awaiting_vendor"
            )
        if state == "resolved":
            return incident_services.incident_resolve(
                actor=users["agent"], incident=incident, code="solved_permanently", notes="Done."
            )
        return incident

    def workspace_incident(self):
        """A new incident of customer A, on every call (an action must not spoil the next)."""
        return incident_create(actor=self.users["customer_a"], title="Laptop will not boot")

    def agent_token(self):
        """A fresh token of the agent on every call (revoking one must not spoil the next)."""
        token, _key = api_token_create(
            user=self.users["agent"], name="sample", actor=self.users["administrator"]
        )
        return token

    def agent_notification(self):
        """A fresh notification of the agent on every call (reading one spoils nothing)."""
        return Notification.objects.create(
            recipient=self.users["agent"],
            topic="incident.assigned",
            title="Assigned to you",
            url="/",
            dedup_key=f"sample:{Notification.objects.count()}",
        )

    def sla_target(self):
        """A target of an active SLA, on a 24x7 calendar."""
        if "sla_target" not in self._cache:
            self._cache["sla_target"] = TargetFactory(name="P1 resolution")
        return self._cache["sla_target"]

    def sla_calendar_day(self):
        return CalendarDayFactory(calendar=self.sla_target().calendar)

    def sla_outage(self):
        return ServiceOutageFactory(service=self.service(), created_by=self.users["manager"])

    def sla_clock(self):
        return ClockFactory(record=IncidentFactory(), target=self.sla_target())

    def sla_ongoing_outage(self):
        """A new ongoing outage on every call (ending one must not spoil the next)."""
        return ServiceOutageFactory(
            service=self.service(), ended_at=None, created_by=self.users["manager"]
        )


@dataclass(frozen=True)
class Rule:
    expect: dict[str, Any]
    kwargs: Callable[[Sample], dict] | None = None
    method: str = "get"
    data: dict = field(default_factory=dict)


# fmt: off
ACCESS: dict[str, Rule] = {
    # Monitoring: open to all; 503 when a dependency is down (tests/core/test_health.py).
    "health": Rule(roles((200, 503))),
    # Django admin, counted once: only staff (administrators) get past its login page.
    "admin:index": Rule(roles(redirect("/admin/login/"), administrator=200)),

    "core:home": Rule(roles(200, anonymous=LOGIN, customer_a=redirect("/portal/"),
                            customer_b=redirect("/portal/"))),
    "core:attachment_download": Rule(
        roles(200, anonymous=LOGIN, customer_b=404), kwargs=lambda s: {"pk": s.attachment().pk}
    ),
    "core:search": Rule(roles(200, anonymous=LOGIN, customer_a=redirect("/portal/"),
                              customer_b=redirect("/portal/"))),

    "accounts:login": Rule(roles(redirect("/"), anonymous=200, customer_a=redirect("/portal/"),
                                 customer_b=redirect("/portal/"))),
    "accounts:logout": Rule(roles(405)),
    "accounts:set_language": Rule(roles(405)),
    "accounts:profile": Rule(roles(200, anonymous=LOGIN)),
    "accounts:password_change": Rule(roles(200, anonymous=LOGIN)),
    "accounts:password_change_done": Rule(roles(200, anonymous=LOGIN)),
    "accounts:password_reset": Rule(roles(200)),
    "accounts:password_reset_done": Rule(roles(200)),
    # A forged token shows the "invalid link" page to anyone.
    "accounts:password_reset_confirm": Rule(
        roles(200),
        kwargs=lambda s: {
            "uidb64": urlsafe_base64_encode(force_bytes(s.users["agent"].pk)),
            "token": "bad-token",
        },
    ),
    "accounts:password_reset_complete": Rule(roles(200)),

    "portal:home": Rule(roles(403, anonymous=LOGIN, customer_a=200, customer_b=200)),
    "portal:my_tickets": Rule(roles(403, anonymous=LOGIN, customer_a=200, customer_b=200)),
    "portal:raise_ticket": Rule(roles(403, anonymous=LOGIN, customer_a=200, customer_b=200)),
    "portal:knowledge": Rule(roles(403, anonymous=LOGIN, customer_a=200, customer_b=200)),
    "portal:subcategory_options": Rule(
        roles(403, anonymous=LOGIN, customer_a=200, customer_b=200)
    ),
    # Portal incident pages: another organisation's incident is 404, not 403. Actions the
    # incident's state refuses (confirming a new incident, a POST without files) re-render
    # the page with the reason (200).
    "portal:incident_detail": Rule(
        roles(403, anonymous=LOGIN, customer_a=200, customer_b=404),
        kwargs=lambda s: {"pk": s.portal_incident().pk},
    ),
    "portal:incident_reply": Rule(
        roles(403, anonymous=LOGIN, customer_a=302, customer_b=404),
        kwargs=lambda s: {"pk": s.portal_incident().pk},
        method="post",
        data={"body": "Any news?"},
    ),
    **{
        f"portal:incident_{name}": Rule(
            roles(403, anonymous=LOGIN, customer_a=200, customer_b=404),
            kwargs=lambda s: {"pk": s.portal_incident().pk},
            method="post",
            data=data,
        )
        for name, data in (
            ("attach", {}),
            ("confirm", {}),
            ("reject", {"reason": "Still broken"}),
            ("rate", {"score": "5"}),
        )
    },

    "reports:dashboard": Rule(roles(200, anonymous=LOGIN, customer_a=redirect("/portal/"),
                                    customer_b=redirect("/portal/"), agent=403)),

    "api-v1:schema": Rule(roles(200)),
    "api-v1:docs": Rule(roles(200)),
    "api-v1:accounts-api:token-obtain": Rule(roles(405)),
    "api-v1:accounts-api:me": Rule(roles(200, anonymous=401)),
    "api-v1:accounts-api:organisation-list": Rule(roles(200, anonymous=401)),
    "api-v1:accounts-api:organisation-detail": Rule(
        roles(200, anonymous=401, customer_b=404), kwargs=lambda s: {"pk": s.org_a.pk}
    ),
    "api-v1:accounts-api:support-group-list": Rule(staff_only()),
    "api-v1:accounts-api:support-group-detail": Rule(
        staff_only(), kwargs=lambda s: {"pk": s.support_group().pk}
    ),
    "api-v1:accounts-api:user-list": Rule(staff_only()),
    "api-v1:accounts-api:user-detail": Rule(
        staff_only(), kwargs=lambda s: {"pk": s.users["agent"].pk}
    ),
    # Everyone may list their own tokens; only token managers see other people's.
    "api-v1:accounts-api:api-token-list": Rule(roles(200, anonymous=401)),
    "api-v1:accounts-api:api-token-detail": Rule(
        roles(404, anonymous=401, agent=200, administrator=200),
        kwargs=lambda s: {"pk": s.agent_token().pk},
    ),
    "api-v1:accounts-api:api-token-revoke": Rule(
        roles(404, anonymous=401, agent=200, administrator=200),
        kwargs=lambda s: {"pk": s.agent_token().pk},
        method="post",
    ),

    # CMDB. Reference data (classes, attribute definitions, relationship types): staff read.
    "api-v1:config_items-api:ci-class-list": Rule(staff_only()),
    "api-v1:config_items-api:ci-class-detail": Rule(
        staff_only(), kwargs=lambda s: {"code": "server"}
    ),
    "api-v1:config_items-api:attribute-definition-list": Rule(staff_only()),
    "api-v1:config_items-api:attribute-definition-detail": Rule(
        staff_only(), kwargs=lambda s: {"pk": ci_class("server").attribute_definitions.first().pk}
    ),
    "api-v1:config_items-api:relationship-type-list": Rule(staff_only()),
    "api-v1:config_items-api:relationship-type-detail": Rule(
        staff_only(), kwargs=lambda s: {"code": "runs_on"}
    ),
    # CIs: customers read the services of their own organisation only.
    "api-v1:config_items-api:ci-list": Rule(roles(200, anonymous=401)),
    "api-v1:config_items-api:ci-export": Rule(roles(200, anonymous=401)),
    "api-v1:config_items-api:ci-detail": Rule(
        roles(200, anonymous=401, customer_b=404), kwargs=lambda s: {"pk": s.service().pk}
    ),
    **{
        f"api-v1:config_items-api:ci-{name}": Rule(
            MANAGERS_ONLY,
            kwargs=lambda s: {"pk": s.fresh_ci().pk},
            method="post",
        )
        for name in ("build", "go-live")
    },
    "api-v1:config_items-api:ci-start-maintenance": Rule(
        roles(409, anonymous=401, customer_a=403, customer_b=403, agent=403),
        kwargs=lambda s: {"pk": s.fresh_ci().pk},
        method="post",
    ),
    "api-v1:config_items-api:ci-retire": Rule(
        MANAGERS_ONLY,
        kwargs=lambda s: {"pk": s.fresh_ci().pk},
        method="post",
    ),
    **{
        f"api-v1:config_items-api:ci-{name}": Rule(
            staff_only(), kwargs=lambda s: {"pk": s.service().pk}
        )
        for name in ("impact", "graph", "history")
    },
    "api-v1:config_items-api:relationship-list": Rule(staff_only()),
    "api-v1:config_items-api:relationship-detail": Rule(
        staff_only(), kwargs=lambda s: {"pk": s.relationship().pk}
    ),
    # Imports and their reports: managers and administrators.
    "api-v1:config_items-api:import-job-list": Rule(MANAGERS_ONLY),
    "api-v1:config_items-api:import-job-detail": Rule(
        MANAGERS_ONLY, kwargs=lambda s: {"pk": s.import_job().pk}
    ),
    "api-v1:config_items-api:baseline-list": Rule(staff_only()),
    "api-v1:config_items-api:baseline-detail": Rule(
        staff_only(), kwargs=lambda s: {"pk": s.baseline().pk}
    ),
    "api-v1:config_items-api:baseline-diff": Rule(
        staff_only(), kwargs=lambda s: {"pk": s.baseline().pk, "ci_id": s.service().pk}
    ),

    # Incidents API: customers see their own (and shared organisation) incidents, another
    # organisation's answer 404; lifecycle actions need their per-action permission.
    "api-v1:incidents-api:incident-list": Rule(roles(200, anonymous=401)),
    **{
        f"api-v1:incidents-api:incident-{name}": Rule(
            roles(200, anonymous=401, customer_b=404),
            kwargs=lambda s: {"pk": s.api_incident().pk},
        )
        for name in ("detail", "comments", "attachments", "timeline")
    },
    **{
        f"api-v1:incidents-api:incident-{name}": Rule(
            roles(204, anonymous=401, customer_b=404),
            kwargs=lambda s: {"pk": s.api_incident().pk},
            method="post",
        )
        for name in ("watch", "unwatch")
    },
    "api-v1:incidents-api:incident-major-updates": Rule(
        staff_only(), kwargs=lambda s: {"pk": s.api_incident("in_progress").pk}
    ),
    "api-v1:incidents-api:incident-affected": Rule(
        staff_only(), kwargs=lambda s: {"pk": s.api_incident().pk}
    ),
    # Without a group the assignment is refused as invalid (400): the permission passed.
    "api-v1:incidents-api:incident-assign": Rule(
        staff_only(400), kwargs=lambda s: {"pk": s.api_incident().pk}, method="post"
    ),
    **{
        f"api-v1:incidents-api:incident-{name}": Rule(
            staff_only() if name not in ("cancel", "declare-major") else MANAGERS_ONLY,
            kwargs=lambda s, state=state: {"pk": s.api_incident(state).pk},
            method="post",
            data=data,
        )
        for name, state, data in (
            ("assign-to-me", "new", {}),
            ("start", "new", {}),
            ("pend", "in_progress", {"reason": "awaiting_vendor"}),
            ("resume", "pending", {}),
            ("resolve", "in_progress", {"code": "solved_permanently", "notes": "Done."}),
            ("close", "resolved", {}),
            ("reopen", "resolved", {"reason": "Still broken."}),
            ("cancel", "in_progress", {"reason": "Raised twice."}),
            ("declare-major", "in_progress", {}),
        )
    },
    **{
        f"api-v1:incidents-api:incident-{name}": Rule(
            roles(403, anonymous=401, customer_a=ok, customer_b=404),
            kwargs=lambda s: {"pk": s.api_incident("resolved").pk},
            method="post",
            data=data,
        )
        for name, data, ok in (
            ("confirm", {}, 200),
            ("reject", {"reason": "Still broken."}, 200),
            ("rate", {"score": 4}, 201),
        )
    },

    # CMDB pages of the agent workspace.
    "config_items:ci_list": Rule(WORKSPACE),
    "config_items:ci_create": Rule(WORKSPACE),
    "config_items:ci_lookup": Rule(WORKSPACE),
    **{
        f"config_items:{name}": Rule(WORKSPACE, kwargs=lambda s: {"pk": s.service().pk})
        for name in ("ci_detail", "ci_update", "ci_impact", "ci_baseline_diff")
    },
    "config_items:ci_transition": Rule(
        WORKSPACE_MANAGERS_POST,
        kwargs=lambda s: {"pk": s.fresh_ci().pk},
        method="post",
        data={"transition": "build"},
    ),
    "config_items:relationship_create": Rule(
        WORKSPACE_POST, kwargs=lambda s: {"pk": s.fresh_ci().pk}, method="post"
    ),
    "config_items:relationship_delete": Rule(
        WORKSPACE_POST,
        kwargs=lambda s: (lambda r: {"pk": r.source_id, "rel_pk": r.pk})(s.fresh_relationship()),
        method="post",
    ),
    "config_items:import_create": Rule(WORKSPACE_MANAGERS),
    "config_items:import_detail": Rule(
        WORKSPACE_MANAGERS, kwargs=lambda s: {"pk": s.import_job().pk}
    ),
    # A job still waiting is refused with a message and a redirect to its page.
    "config_items:import_apply": Rule(
        WORKSPACE_MANAGERS_POST, kwargs=lambda s: {"pk": s.import_job().pk}, method="post"
    ),
    "config_items:baseline_list": Rule(WORKSPACE),
    "config_items:baseline_create": Rule(WORKSPACE_MANAGERS),
    "config_items:baseline_detail": Rule(WORKSPACE, kwargs=lambda s: {"pk": s.baseline().pk}),

    # Notifications: every signed-in user has their own; another user's is not found.
    "notifications:notification_list": Rule(roles(200, anonymous=LOGIN)),
    "notifications:notification_menu": Rule(roles(200, anonymous=LOGIN)),
    "notifications:notification_read": Rule(
        roles(404, anonymous=LOGIN, agent=302),
        kwargs=lambda s: {"pk": s.agent_notification().pk},
        method="post",
    ),
    "notifications:notification_read_all": Rule(roles(302, anonymous=LOGIN), method="post"),

    # Incident pages of the agent workspace. Refused or incomplete actions come back as a
    # message on the incident page (302), never as an error page.
    **{
        f"incidents:{name}": Rule(WORKSPACE)
        for name in (
            "incident_list",
            "incident_create",
            "caller_lookup",
            "agent_lookup",
            "subcategory_options",
            "assignee_options",
        )
    },
    **{
        f"incidents:{name}": Rule(WORKSPACE, kwargs=lambda s: {"pk": s.workspace_incident().pk})
        for name in ("incident_detail", "incident_update", "incident_affected")
    },
    "incidents:ci_incidents": Rule(WORKSPACE, kwargs=lambda s: {"ci_pk": s.service().pk}),
    **{
        f"incidents:{name}": Rule(WORKSPACE_POST, method="post", kwargs=kwargs)
        for name, kwargs in (
            ("incident_bulk", None),
            ("saved_filter_save", None),
            ("saved_filter_delete", lambda s: {"pk": 0}),
        )
    },
    **{
        f"incidents:{name}": Rule(
            WORKSPACE_POST, kwargs=lambda s: {"pk": s.workspace_incident().pk}, method="post"
        )
        for name in ("incident_transition", "incident_assign", "incident_watch", "incident_cis")
    },
    # An empty reply re-renders the page with the form's error.
    "incidents:incident_comment": Rule(
        {**WORKSPACE_POST, **dict.fromkeys(STAFF, 200)},
        kwargs=lambda s: {"pk": s.workspace_incident().pk},
        method="post",
    ),
    **{
        f"incidents:{name}": Rule(
            WORKSPACE_MANAGERS_POST,
            kwargs=lambda s: {"pk": s.workspace_incident().pk},
            method="post",
        )
        for name in ("incident_declare_major", "incident_major_update")
    },

    # SLA dashboard, breaches, CSV export and monthly reports: staff who may read
    # agreements; customers get 403 (the figures span every organisation).
    **{
        f"sla:{name}": Rule(roles(200, anonymous=LOGIN, customer_a=403, customer_b=403))
        for name in ("dashboard", "breach_list", "attainment_export", "report_list")
    },
    "sla:attainment_table": Rule(
        roles(200, anonymous=LOGIN, customer_a=403, customer_b=403),
        kwargs=lambda s: {"table": "organisation"},
    ),
    **{
        f"sla:{name}": Rule(
            roles(200, anonymous=LOGIN, customer_a=403, customer_b=403),
            kwargs=lambda s: {"org_pk": s.org_a.pk, "month": "2026-03"},
        )
        for name in ("report_detail", "report_pdf")
    },
    # Fragments of a service's CI page: agreements and outages (staff who read them);
    # recording and ending outages is for managers. A refused form post comes back to the
    # CI page (302).
    **{
        f"sla:{name}": Rule(WORKSPACE, kwargs=lambda s: {"service_pk": s.service().pk})
        for name in ("service_agreements", "service_outages")
    },
    "sla:service_outage_create": Rule(
        WORKSPACE_MANAGERS, kwargs=lambda s: {"service_pk": s.service().pk}
    ),
    "sla:service_outage_end": Rule(
        WORKSPACE_MANAGERS_POST,
        kwargs=lambda s: {"pk": s.sla_ongoing_outage().pk},
        method="post",
    ),
    # Agreements and business calendars, read-only (staff who read them; customers are
    # sent to the portal).
    **{f"sla:{name}": Rule(WORKSPACE) for name in ("agreement_list", "calendar_list")},
    "sla:agreement_detail": Rule(WORKSPACE, kwargs=lambda s: {"pk": s.sla_target().agreement_id}),
    "sla:calendar_detail": Rule(WORKSPACE, kwargs=lambda s: {"pk": s.sla_target().calendar_id}),
    # The SLA clocks card of a record's page (workspace staff who may see the record).
    "sla:record_clocks": Rule(
        WORKSPACE,
        kwargs=lambda s: {"record_type": "incidents.incident", "pk": s.workspace_incident().pk},
    ),
    "api-v1:sla-api:attainment": Rule(staff_only()),
    # SLA API: staff read (agents included), customers get 403 everywhere; writes are
    # tested per role in tests/sla/test_api.py.
    **{
        f"api-v1:sla-api:{name}-list": Rule(staff_only())
        for name in ("agreement", "target", "calendar", "calendar-day", "outage", "clock")
    },
    "api-v1:sla-api:agreement-detail": Rule(
        staff_only(), kwargs=lambda s: {"pk": s.sla_target().agreement_id}
    ),
    "api-v1:sla-api:target-detail": Rule(staff_only(), kwargs=lambda s: {"pk": s.sla_target().pk}),
    "api-v1:sla-api:calendar-detail": Rule(
        staff_only(), kwargs=lambda s: {"pk": s.sla_target().calendar_id}
    ),
    "api-v1:sla-api:calendar-day-detail": Rule(
        staff_only(), kwargs=lambda s: {"pk": s.sla_calendar_day().pk}
    ),
    "api-v1:sla-api:outage-detail": Rule(staff_only(), kwargs=lambda s: {"pk": s.sla_outage().pk}),
    "api-v1:sla-api:clock-detail": Rule(staff_only(), kwargs=lambda s: {"pk": s.sla_clock().pk}),
}
# fmt: on


def _walk(resolver, prefix="", namespaces=()):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                # The admin's own pages are Django's; its index stands for the whole site.
                yield "admin:index", route
                continue
            ns = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry, route, ns)
        elif isinstance(entry, URLPattern):
            name = ":".join((*namespaces, entry.name)) if entry.name else route
            yield name, route


def url_patterns() -> dict[str, str]:
    """Every pattern of the site as {name: route}."""
    found: dict[str, str] = {}
    for name, route in _walk(get_resolver()):
        found.setdefault(name, route)
    return found


PATTERNS = url_patterns()


def _describe(response) -> str:
    location = response.get("Location")
    return f"{response.status_code}" + (f" -> {location}" if location else "")


def _matches(outcome, response, path: str) -> bool:
    status = response.status_code
    if isinstance(outcome, tuple):
        return status in outcome
    if isinstance(outcome, int):
        return status == outcome
    if outcome == LOGIN:
        expected = f"{resolve_url(settings.LOGIN_URL)}?next={quote(path)}"
        return status == 302 and response["Location"] == expected
    if outcome.startswith("redirect:"):
        return status == 302 and urlsplit(response["Location"]).path == outcome[9:]
    raise ValueError(f"unknown outcome {outcome!r}")


@pytest.fixture
def sample(customer_a, customer_b, agent, manager, administrator, org_a, org_b):
    users = {
        "anonymous": None,
        "customer_a": customer_a,
        "customer_b": customer_b,
        "agent": agent,
        "manager": manager,
        "administrator": administrator,
    }
    cmdb_defaults_create()
    return Sample(users=users, org_a=org_a, org_b=org_b)


def test_every_url_pattern_has_an_access_rule():
    undeclared = sorted(set(PATTERNS) - set(ACCESS))
    stale = sorted(set(ACCESS) - set(PATTERNS))

    assert not undeclared, (
        f"URL patterns without an access rule: {undeclared}. Declare what each role "
        "(anonymous, customer_a, customer_b, agent, manager, administrator) gets in "
        "ACCESS in tests/test_access.py."
    )
    assert not stale, f"ACCESS names patterns that no longer exist: {stale}; remove them."


@pytest.mark.parametrize("name", sorted(set(PATTERNS) | set(ACCESS)))
def test_access_matrix(name, sample):
    if name not in ACCESS:
        pytest.fail(
            f"URL pattern {name!r} ({PATTERNS[name]}) has no access rule: declare the outcome "
            "for every role in ACCESS in tests/test_access.py."
        )
    if name not in PATTERNS:
        pytest.fail(f"ACCESS declares {name!r}, which is no longer a URL pattern: remove it.")
    rule = ACCESS[name]
    assert set(rule.expect) == set(ROLES), f"{name}: declare every role {ROLES}"

    mismatches = []
    for role in ROLES:
        client = Client()
        user = sample.users[role]
        if user is not None:
            client.force_login(user)
        path = reverse(name, kwargs=rule.kwargs(sample) if rule.kwargs else None)
        response = getattr(client, rule.method)(path, rule.data)
        expected = rule.expect[role]
        if not _matches(expected, response, path):
            mismatches.append(
                f"  {role:<14} {rule.method.upper()} {path}: expected {expected!r}, "
                f"got {_describe(response)}"
            )

    assert not mismatches, f"{name}:\n" + "\n".join(mismatches)
