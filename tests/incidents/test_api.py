"""The incident REST API: contract, permissions per role and organisation, concurrency."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import api_token_create
from core.choices import CommentVisibility
from core.models import Comment, TicketEvent
from incidents.choices import IncidentStatus as S
from incidents.models import Incident, SatisfactionRating
from incidents.services import (
    incident_assign,
    incident_comment,
    incident_create,
    incident_pend,
    incident_resolve,
    incident_start,
    incident_update,
)
from tests.config_items.factories import ConfigurationItemFactory, RelationshipFactory, ci_class
from tests.factories import SupportGroupFactory, UserFactory
from tests.incidents.factories import category

pytestmark = pytest.mark.django_db

RESOLVE = {"code": "solved_permanently", "notes": "Replaced the toner cartridge."}


def url(name: str, pk: int | None = None) -> str:
    args = [pk] if pk is not None else None
    return reverse(f"api-v1:incidents-api:incident-{name}", args=args)


@pytest.fixture
def group(agent, manager):
    group = SupportGroupFactory(name="Service desk", manager=manager)
    group.members.add(agent, manager)
    return group


def _raise(customer, title="打印机无法打印 printer offline"):
    return incident_create(actor=customer, title=title, description="Since **9:00**.")


def in_state(state: str, customer, agent, manager, group) -> Incident:
    """An incident of `customer` moved to `state` through the services."""
    incident = _raise(customer)
    if state == S.NEW:
        return incident
    incident = incident_assign(actor=manager, incident=incident, group=group, assignee=agent)
    if state == S.ASSIGNED:
        return incident
    incident = incident_start(actor=agent, incident=incident)
    if state == S.PENDING:
        return incident_pend(actor=agent, incident=incident, reason="awaiting_customer")
    if state == S.RESOLVED:
        return incident_resolve(actor=agent, incident=incident, **RESOLVE)
    return incident


@pytest.fixture
def make(customer_a, agent, manager, group):
    return lambda state=S.NEW, customer=customer_a: in_state(state, customer, agent, manager, group)


def client_for(api_client, user):
    if user is not None:
        api_client.force_authenticate(user)
    return api_client


# Create


def test_agent_logs_a_phone_incident_for_a_caller(api_client, agent, customer_a, group):
    service = ConfigurationItemFactory(name="Online shop", ci_class=ci_class("business_service"))
    body = {
        "title": "Cannot print invoices",
        "description": "Printer *offline*.",
        "caller": "cust_a",
        "channel": "phone",
        "service": service.pk,
        "category": category("Hardware").pk,
        "subcategory": category("Printer", "Hardware").pk,
        "impact": 1,
        "urgency": 1,
        "assignment_group": group.pk,
        "assignee": agent.pk,
    }

    response = client_for(api_client, agent).post(url("list"), body)

    data = response.json()
    assert response.status_code == 201, data
    incident = Incident.objects.get(pk=data["id"])
    assert data["number"] == incident.number and incident.number.startswith("INC")
    assert data["caller"] == {"id": customer_a.pk, "username": "cust_a", "name": str(customer_a)}
    assert data["organisation"]["code"] == "acme"
    assert (data["channel"], data["priority"], data["status"]) == ("phone", 1, "assigned")
    assert data["status_label"] == "Assigned"
    assert data["assignee"]["id"] == agent.pk
    assert data["service"] == {"id": service.pk, "name": "Online shop"}
    assert data["subcategory"]["name"] == "Printer"
    assert "<em>offline</em>" in data["description_html"]
    assert response["ETag"] == f'W/"{incident.version}"'
    assert "start" in data["available_transitions"]


def test_caller_may_be_given_by_id(api_client, agent, customer_a):
    response = client_for(api_client, agent).post(
        url("list"), {"title": "VPN down", "caller": customer_a.pk}
    )

    assert response.status_code == 201
    assert Incident.objects.get().caller == customer_a


def test_customer_raises_an_incident_from_the_portal(api_client, customer_a):
    response = client_for(api_client, customer_a).post(
        url("list"), {"title": "邮件无法发送", "channel": "phone", "impact": 1}
    )

    data = response.json()
    assert response.status_code == 201, data
    incident = Incident.objects.get()
    assert (incident.caller, incident.channel, incident.impact) == (customer_a, "portal", 1)
    assert "assignee" not in data and "watchers" not in data


def test_customer_raising_with_a_token_is_logged_as_api(api_client, customer_a, administrator):
    _token, key = api_token_create(user=customer_a, name="script", actor=administrator)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = api_client.post(url("list"), {"title": "Laptop slow"})

    assert response.status_code == 201
    assert Incident.objects.get().channel == "api"


def test_customer_cannot_raise_for_someone_else_or_assign(api_client, customer_a, agent, group):
    client = client_for(api_client, customer_a)

    other = client.post(url("list"), {"title": "x", "caller": agent.pk})
    assign = client.post(url("list"), {"title": "x", "assignment_group": group.pk})

    assert (other.status_code, other.json()["code"]) == (400, "caller_forbidden")
    assert (assign.status_code, assign.json()["code"]) == (400, "assign_forbidden")
    assert not Incident.objects.exists()


def test_bad_input_answers_400_with_the_fields(api_client, agent):
    response = client_for(api_client, agent).post(
        url("list"), {"impact": 7, "caller": "nobody", "category": 999999}
    )

    data = response.json()
    assert response.status_code == 400
    assert data["code"] == "invalid"
    assert set(data["fields"]) == {"title", "impact", "caller", "category"}
    assert not Incident.objects.exists()


@pytest.mark.parametrize("caller", ["²", 10**30, "99999999999999999999999", "x" * 200])
def test_a_caller_that_is_no_user_is_a_field_error(api_client, agent, caller):
    response = client_for(api_client, agent).post(
        url("list"), {"title": "x", "caller": caller}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"]["caller"] == ["No such user."]
    assert not Incident.objects.exists()


def test_a_subcategory_of_another_category_is_refused(api_client, agent):
    response = client_for(api_client, agent).post(
        url("list"),
        {
            "title": "x",
            "category": category("Network").pk,
            "subcategory": category("Printer", "Hardware").pk,
        },
    )

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"subcategory"}


def test_create_answers_what_a_read_of_the_incident_returns_in_bounded_queries(
    api_client, agent, customer_a, group, django_assert_max_num_queries
):
    """The create answer is built from the service's instance, not re-read: it must
    still say exactly what a GET says (relations, CIs, parent, transitions, version)."""
    service = ConfigurationItemFactory(name="Online shop", ci_class=ci_class("business_service"))
    cis = [ConfigurationItemFactory(name=f"web-{n}") for n in range(2)]
    parent = incident_create(actor=agent, caller=customer_a, title="Shop down")
    body = {
        "title": "Checkout fails",
        "description": "Since **9:00**.",
        "caller": customer_a.pk,
        "channel": "phone",
        "service": service.pk,
        "configuration_items": [ci.pk for ci in cis],
        "category": category("Software").pk,
        "subcategory": category("Performance", "Software").pk,
        "impact": 1,
        "urgency": 2,
        "assignment_group": group.pk,
        "assignee": agent.pk,
        "parent": parent.pk,
    }
    client = client_for(api_client, agent)
    client.post(url("list"), {"title": "warm-up", "caller": customer_a.pk})

    # One read per named reference, the writes, the SLA match, the answer's CIs, watchers
    # and organisation; a re-read of the incident would add four.
    with django_assert_max_num_queries(26):
        created = client.post(url("list"), body, format="json")

    assert created.status_code == 201, created.json()
    read = client.get(url("detail", created.json()["id"]))
    assert created.json() == read.json()
    assert created["ETag"] == read["ETag"]
    assert {ci["name"] for ci in created.json()["configuration_items"]} == {"web-0", "web-1"}
    assert created.json()["parent"]["id"] == parent.pk


def test_anonymous_cannot_create(api_client):
    response = api_client.post(url("list"), {"title": "x"})

    assert response.status_code == 401


# Read and visibility


def test_customer_gets_the_customer_shape_without_agent_only_fields(api_client, make, customer_a):
    incident = make(S.IN_PROGRESS)

    data = client_for(api_client, customer_a).get(url("detail", incident.pk)).json()

    for field in ("assignee", "watchers", "configuration_items", "major_incident_manager"):
        assert field not in data
    assert data["assignment_group"]["name"] == "Service desk"
    assert data["available_transitions"] == []


def test_available_transitions_follow_the_users_permissions(api_client, make, agent, manager):
    incident = make(S.IN_PROGRESS)

    as_agent = client_for(api_client, agent).get(url("detail", incident.pk)).json()
    api_client.force_authenticate(manager)
    as_manager = api_client.get(url("detail", incident.pk)).json()

    assert sorted(as_agent["available_transitions"]) == ["pend", "resolve"]
    assert sorted(as_manager["available_transitions"]) == ["cancel", "pend", "resolve"]


def test_a_customer_cannot_be_named_major_incident_manager(api_client, make, manager, customer_a):
    incident = make()
    client = client_for(api_client, manager)

    refused = client.post(url("declare-major", incident.pk), {"manager": customer_a.pk})

    assert refused.status_code == 400 and list(refused.json()["fields"]) == ["manager"]
    incident.refresh_from_db()
    assert not incident.is_major


def test_patch_links_and_unlinks_a_parent(api_client, make, agent):
    parent, incident = make(), make()
    client = client_for(api_client, agent)

    linked = client.patch(url("detail", incident.pk), {"parent": parent.pk}, format="json")
    cycle = client.patch(url("detail", parent.pk), {"parent": incident.pk}, format="json")
    unlinked = client.patch(url("detail", incident.pk), {"parent": None}, format="json")

    assert linked.status_code == 200 and linked.json()["parent"]["id"] == parent.pk
    assert cycle.status_code == 400 and list(cycle.json()["fields"]) == ["parent"]
    assert unlinked.status_code == 200 and unlinked.json()["parent"] is None


def test_affected_services_and_customers_come_from_the_cmdb(api_client, agent, customer_a):
    shop = ConfigurationItemFactory(name="Online shop", ci_class=ci_class("business_service"))
    shop.organisations.add(customer_a.organisation)
    server = ConfigurationItemFactory(name="web-01")
    RelationshipFactory(source=shop, target=server)
    incident = incident_create(actor=agent, caller=customer_a, title="Shop slow")
    bare = client_for(api_client, agent).get(url("affected", incident.pk)).json()
    incident_update(actor=agent, incident=incident, configuration_items=[server])

    affected = client_for(api_client, agent).get(url("affected", incident.pk))
    client_for(api_client, customer_a)
    refused = api_client.get(url("affected", incident.pk))

    assert bare == {"services": [], "organisations": []}
    assert affected.status_code == 200
    assert affected.json() == {
        "services": [{"id": shop.pk, "name": "Online shop"}],
        "organisations": [
            {
                "id": customer_a.organisation_id,
                "name": customer_a.organisation.name,
                "code": customer_a.organisation.code,
            }
        ],
    }
    assert refused.status_code == 403


def test_a_colleague_of_the_caller_may_read_but_not_answer_the_resolution(
    api_client, make, customer_a, org_a
):
    org_a.shares_tickets = True
    org_a.save(update_fields=["shares_tickets"])
    colleague = UserFactory(organisation=org_a, roles=["customer"])
    incident = make(S.RESOLVED)
    client = client_for(api_client, colleague)

    seen = client.get(url("detail", incident.pk))
    confirmed = client.post(url("confirm", incident.pk))
    rated = client.post(url("rate", incident.pk), {"score": 1})

    assert seen.status_code == 200 and seen.json()["available_transitions"] == []
    assert (confirmed.status_code, confirmed.json()["code"]) == (403, "forbidden")
    assert rated.status_code == 403
    incident.refresh_from_db()
    assert incident.status == S.RESOLVED


def test_customer_sees_confirm_reject_rate_on_a_resolved_incident(api_client, make, customer_a):
    incident = make(S.RESOLVED)

    data = client_for(api_client, customer_a).get(url("detail", incident.pk)).json()

    assert data["available_transitions"] == ["confirm", "reject", "rate"]


@pytest.mark.parametrize(
    ("name", "method", "data"),
    [
        ("detail", "get", None),
        ("comments", "get", None),
        ("comments", "post", {"body": "Any news?"}),
        ("attachments", "get", None),
        ("timeline", "get", None),
        ("watch", "post", {}),
        ("confirm", "post", {}),
        ("reject", "post", {"reason": "Still broken."}),
        ("rate", "post", {"score": 1}),
    ],
)
def test_a_customer_of_another_organisation_gets_404(
    api_client, make, customer_b, name, method, data
):
    incident = make(S.RESOLVED)
    version = incident.version

    response = getattr(client_for(api_client, customer_b), method)(url(name, incident.pk), data)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    incident.refresh_from_db()
    assert incident.version == version
    assert not Comment.objects.exists()


def test_customer_of_another_organisation_does_not_list_it(api_client, make, customer_b):
    make()

    response = client_for(api_client, customer_b).get(url("list"))

    assert response.json()["results"] == []


def test_colleague_sees_the_incident_when_the_organisation_shares_tickets(api_client, make, org_a):
    colleague = UserFactory(username="colleague", organisation=org_a, roles=["customer"])
    incident = make()
    client = client_for(api_client, colleague)

    hidden = client.get(url("detail", incident.pk)).status_code
    org_a.shares_tickets = True
    org_a.save()
    shown = client.get(url("detail", incident.pk)).status_code

    assert (hidden, shown) == (404, 200)


# Comments, attachments, timeline


def test_customer_never_sees_work_notes(api_client, make, agent, customer_a):
    incident = make(S.IN_PROGRESS)
    staff = client_for(api_client, agent)
    staff.post(
        url("comments", incident.pk), {"body": "Driver bug, see KB12", "visibility": "work_note"}
    )
    staff.post(url("comments", incident.pk), {"body": "We are on it."})

    api_client.force_authenticate(customer_a)
    comments = api_client.get(url("comments", incident.pk)).json()
    timeline = api_client.get(url("timeline", incident.pk)).json()
    api_client.force_authenticate(agent)
    agent_comments = api_client.get(url("comments", incident.pk)).json()

    assert [c["body"] for c in comments] == ["We are on it."]
    assert "Driver bug" not in str(timeline)
    assert [e["kind"] for e in timeline] == ["event", "event", "event", "comment"]
    assert [c["visibility"] for c in agent_comments] == ["work_note", "public"]


def test_customer_may_only_post_public_replies(api_client, make, customer_a):
    incident = make(S.IN_PROGRESS)

    response = client_for(api_client, customer_a).post(
        url("comments", incident.pk), {"body": "secret", "visibility": "work_note"}
    )

    assert (response.status_code, response.json()["code"]) == (400, "work_note_forbidden")
    assert not Comment.objects.exists()


def test_customer_reply_resumes_an_incident_waiting_on_the_customer(api_client, make, customer_a):
    incident = make(S.PENDING)

    response = client_for(api_client, customer_a).post(
        url("comments", incident.pk), {"body": "Here is the screenshot."}
    )

    assert response.status_code == 201
    assert response.json()["visibility"] == "public"
    incident.refresh_from_db()
    assert incident.status == S.IN_PROGRESS


def test_empty_comment_is_refused_with_the_field(api_client, make, agent):
    incident = make()

    response = client_for(api_client, agent).post(url("comments", incident.pk), {"body": ""})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"body"}


def test_attachments_upload_and_list_with_a_download_link(api_client, make, customer_a):
    incident = make()
    client = client_for(api_client, customer_a)

    created = client.post(
        url("attachments", incident.pk),
        {"file": SimpleUploadedFile("error.txt", b"disk full")},
        format="multipart",
    )
    listed = client.get(url("attachments", incident.pk)).json()

    data = created.json()
    assert created.status_code == 201, data
    assert (data["name"], data["size"]) == ("error.txt", 9)
    assert data["download_url"].endswith(reverse("core:attachment_download", args=[data["id"]]))
    assert [a["id"] for a in listed] == [data["id"]]
    browser = Client()
    browser.force_login(customer_a)
    assert browser.get(data["download_url"]).status_code == 200


def test_attachment_of_a_refused_type_is_a_field_error(api_client, make, agent):
    incident = make()

    response = client_for(api_client, agent).post(
        url("attachments", incident.pk),
        {"file": SimpleUploadedFile("run.exe", b"MZ")},
        format="multipart",
    )

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"file"}


# Permissions per action and role

STAFF_ACTIONS = {
    # action: (state it starts from, body, agent allowed?)
    "assign": (S.NEW, "group", True),
    "assign-to-me": (S.NEW, {}, True),
    "start": (S.ASSIGNED, {}, True),
    "pend": (S.IN_PROGRESS, {"reason": "awaiting_vendor"}, True),
    "resume": (S.PENDING, {}, True),
    "resolve": (S.IN_PROGRESS, RESOLVE, True),
    "close": (S.RESOLVED, {}, True),
    "reopen": (S.RESOLVED, {"reason": "Printer jams again."}, True),
    "cancel": (S.IN_PROGRESS, {"reason": "Raised twice."}, False),
    "declare-major": (S.IN_PROGRESS, {}, False),
}
ROLES = ("anonymous", "customer_a", "customer_b", "agent", "manager")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(STAFF_ACTIONS))
def test_staff_action_permissions(api_client, request, make, group, action, role):
    state, body, agent_allowed = STAFF_ACTIONS[action]
    incident = make(state)
    if body == "group":
        body = {"group": group.pk}
    user = None if role == "anonymous" else request.getfixturevalue(role)
    events = TicketEvent.objects.count()

    response = client_for(api_client, user).post(url(action, incident.pk), body)

    expected = {
        "anonymous": 401,
        "customer_a": 403,
        "customer_b": 403,
        "agent": 200 if agent_allowed else 403,
        "manager": 200,
    }[role]
    assert response.status_code == expected, response.json()
    if expected != 200:
        incident_after = Incident.objects.get(pk=incident.pk)
        assert incident_after.version == incident.version
        assert TicketEvent.objects.count() == events
    else:
        assert response["ETag"] == f'W/"{response.json()["version"]}"'


CUSTOMER_ACTIONS = {
    "confirm": ({}, 200),
    "reject": ({"reason": "Still jams."}, 200),
    "rate": ({"score": 4, "comment": "Quick."}, 201),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(CUSTOMER_ACTIONS))
def test_customer_action_permissions(api_client, request, make, action, role):
    body, ok = CUSTOMER_ACTIONS[action]
    incident = make(S.RESOLVED)
    user = None if role == "anonymous" else request.getfixturevalue(role)

    response = client_for(api_client, user).post(url(action, incident.pk), body)

    expected = {
        "anonymous": 401,
        "customer_a": ok,
        "customer_b": 404,
        "agent": 403,
        "manager": 403,
    }[role]
    assert response.status_code == expected
    if expected != ok:
        assert Incident.objects.get(pk=incident.pk).version == incident.version


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("customer_a", 403), ("agent", 200), ("manager", 200)],
)
def test_edit_permissions(api_client, request, make, role, expected):
    incident = make()
    user = None if role == "anonymous" else request.getfixturevalue(role)

    response = client_for(api_client, user).patch(url("detail", incident.pk), {"title": "New"})

    assert response.status_code == expected
    incident.refresh_from_db()
    assert incident.title == ("New" if expected == 200 else "打印机无法打印 printer offline")


# Lifecycle


def test_full_lifecycle_through_the_api(api_client, make, agent, customer_a, group):
    incident = make()
    staff = client_for(api_client, agent)

    assert (
        staff.post(url("assign", incident.pk), {"group": group.pk}).json()["status"] == "assigned"
    )
    assert staff.post(url("assign-to-me", incident.pk)).json()["assignee"]["id"] == agent.pk
    assert staff.post(url("start", incident.pk)).json()["status"] == "in_progress"
    pended = staff.post(url("pend", incident.pk), {"reason": "awaiting_vendor"}).json()
    assert (pended["status"], pended["pending_reason"]) == ("pending", "awaiting_vendor")
    assert staff.post(url("resume", incident.pk)).json()["status"] == "in_progress"
    resolved = staff.post(url("resolve", incident.pk), RESOLVE).json()
    assert (resolved["status"], resolved["resolution_code"]) == ("resolved", "solved_permanently")

    api_client.force_authenticate(customer_a)
    rejected = api_client.post(url("reject", incident.pk), {"reason": "Still jams."}).json()
    assert (rejected["status"], rejected["reopen_count"]) == ("in_progress", 1)

    api_client.force_authenticate(agent)
    api_client.post(url("resolve", incident.pk), RESOLVE)
    api_client.force_authenticate(customer_a)
    confirmed = api_client.post(url("confirm", incident.pk)).json()
    rated = api_client.post(url("rate", incident.pk), {"score": 5, "comment": "Thanks"})

    assert confirmed["status"] == "closed" and confirmed["closed_at"]
    assert rated.status_code == 201
    assert rated.json()["score"] == 5
    rating = SatisfactionRating.objects.get(incident=incident)
    assert (rating.score, rating.comment, rating.rated_by) == (5, "Thanks", customer_a)


def test_illegal_transition_answers_409(api_client, make, agent):
    incident = make()

    response = client_for(api_client, agent).post(url("close", incident.pk))

    data = response.json()
    assert (response.status_code, data["code"]) == (409, "illegal_transition")
    assert data["detail"] and data["fields"] == {}
    assert Incident.objects.get(pk=incident.pk).status == S.NEW


def test_customer_cannot_confirm_an_unresolved_incident(api_client, make, customer_a):
    incident = make(S.IN_PROGRESS)

    response = client_for(api_client, customer_a).post(url("confirm", incident.pk))

    assert (response.status_code, response.json()["code"]) == (409, "illegal_transition")


def test_resolve_without_notes_is_refused_with_the_field(api_client, make, agent):
    incident = make(S.IN_PROGRESS)

    response = client_for(api_client, agent).post(url("resolve", incident.pk), {"code": "nonsense"})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"code", "notes"}
    assert Incident.objects.get(pk=incident.pk).status == S.IN_PROGRESS


def test_rating_out_of_range_is_refused(api_client, make, customer_a):
    incident = make(S.RESOLVED)

    response = client_for(api_client, customer_a).post(url("rate", incident.pk), {"score": 6})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"score"}
    assert not SatisfactionRating.objects.exists()


def test_major_incident_declared_and_communicated(api_client, make, manager, agent):
    incident = make(S.IN_PROGRESS)
    client = client_for(api_client, manager)

    declared = client.post(url("declare-major", incident.pk), {"manager": agent.pk}).json()
    posted = client.post(url("major-updates", incident.pk), {"body": "Shop down; ETA 30 min."})
    listed = client.get(url("major-updates", incident.pk)).json()

    assert declared["is_major"] is True
    assert declared["major_incident_manager"]["id"] == agent.pk
    assert posted.status_code == 201
    assert [u["body"] for u in listed] == ["Shop down; ETA 30 min."]


def test_agents_may_read_but_not_write_major_updates(api_client, make, manager, agent):
    incident = make(S.IN_PROGRESS)
    client_for(api_client, manager).post(url("declare-major", incident.pk))

    api_client.force_authenticate(agent)
    read = api_client.get(url("major-updates", incident.pk))
    write = api_client.post(url("major-updates", incident.pk), {"body": "x"})

    assert (read.status_code, write.status_code) == (200, 403)


def test_watch_and_unwatch(api_client, make, agent, customer_a, manager):
    incident = make()
    client = client_for(api_client, agent)

    watched = client.post(url("watch", incident.pk), {"user": manager.pk})
    client.post(url("watch", incident.pk))
    client.post(url("unwatch", incident.pk))
    api_client.force_authenticate(customer_a)
    for_other = api_client.post(url("watch", incident.pk), {"user": agent.pk})

    assert watched.status_code == 204
    assert list(incident.watchers.all()) == [manager]
    assert (for_other.status_code, for_other.json()["code"]) == (403, "forbidden")
    changes = TicketEvent.objects.filter(object_id=incident.pk, data__field="watchers")
    assert [(e.data["old"], e.data["new"]) for e in changes.order_by("pk")] == [
        ([], [manager.pk]),
        ([manager.pk], sorted([manager.pk, agent.pk])),
        (sorted([manager.pk, agent.pk]), [manager.pk]),
    ]


def test_a_customer_of_another_organisation_cannot_be_made_a_watcher(
    api_client, make, agent, customer_a, customer_b
):
    incident = make()  # customer_a's
    client = client_for(api_client, agent)

    refused = client.post(url("watch", incident.pk), {"user": customer_b.pk})
    allowed = client.post(url("watch", incident.pk), {"user": customer_a.pk})

    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid"
    assert list(refused.json()["fields"]) == ["user"]
    assert allowed.status_code == 204
    assert list(incident.watchers.all()) == [customer_a]


# Optimistic concurrency


def test_retrieve_carries_an_etag_and_honours_if_none_match(api_client, make, agent):
    incident = make()
    client = client_for(api_client, agent)

    first = client.get(url("detail", incident.pk))
    again = client.get(url("detail", incident.pk), HTTP_IF_NONE_MATCH=first["ETag"])
    other = client.get(url("detail", incident.pk), HTTP_IF_NONE_MATCH='W/"999"')

    assert first["ETag"] == f'W/"{incident.version}"'
    assert (again.status_code, again.content) == (304, b"")
    assert other.status_code == 200


def test_edit_with_a_stale_if_match_answers_412(api_client, make, agent):
    incident = make()
    client = client_for(api_client, agent)
    etag = client.get(url("detail", incident.pk))["ETag"]
    client.patch(url("detail", incident.pk), {"title": "Someone else"}, HTTP_IF_MATCH=etag)

    response = client.patch(url("detail", incident.pk), {"title": "Mine"}, HTTP_IF_MATCH=etag)

    data = response.json()
    assert response.status_code == 412
    assert (data["code"], data["fields"]) == ("stale_version", {})
    assert Incident.objects.get(pk=incident.pk).title == "Someone else"


def test_edit_with_a_current_if_match_succeeds_and_returns_the_new_etag(api_client, make, agent):
    incident = make()
    client = client_for(api_client, agent)

    response = client.patch(
        url("detail", incident.pk),
        {"impact": 1, "urgency": 1},
        HTTP_IF_MATCH=f'W/"{incident.version}"',
    )

    assert response.status_code == 200
    assert response.json()["priority"] == 1
    assert response["ETag"] == f'W/"{incident.version + 1}"'


def test_transition_with_a_stale_if_match_answers_412(api_client, make, agent):
    incident = make(S.IN_PROGRESS)

    response = client_for(api_client, agent).post(
        url("resolve", incident.pk), RESOLVE, HTTP_IF_MATCH=f'"{incident.version - 1}"'
    )

    assert (response.status_code, response.json()["code"]) == (412, "stale_version")
    assert Incident.objects.get(pk=incident.pk).status == S.IN_PROGRESS


def test_edit_with_a_stale_version_in_the_body_answers_409(api_client, make, agent):
    incident = make()

    response = client_for(api_client, agent).patch(
        url("detail", incident.pk), {"title": "Mine", "version": incident.version + 5}
    )

    assert (response.status_code, response.json()["code"]) == (409, "stale_version")
    assert Incident.objects.get(pk=incident.pk).version == incident.version


def test_transition_with_a_stale_version_in_the_body_answers_409(api_client, make, agent):
    incident = make(S.IN_PROGRESS)
    body = {"reason": "awaiting_vendor", "version": incident.version - 1}

    response = client_for(api_client, agent).post(url("pend", incident.pk), body)

    assert (response.status_code, response.json()["code"]) == (409, "stale_version")
    assert Incident.objects.get(pk=incident.pk).status == S.IN_PROGRESS


def test_transition_with_the_current_version_succeeds(api_client, make, agent):
    incident = make(S.IN_PROGRESS)
    body = {**RESOLVE, "version": incident.version}

    response = client_for(api_client, agent).post(
        url("resolve", incident.pk), body, HTTP_IF_MATCH=f'W/"{incident.version}"'
    )

    assert response.status_code == 200
    assert response.json()["version"] == incident.version + 1


def test_closed_incident_cannot_be_edited(api_client, make, agent):
    incident = make(S.RESOLVED)
    client = client_for(api_client, agent)
    client.post(url("close", incident.pk))

    response = client.patch(url("detail", incident.pk), {"title": "Late"})

    assert (response.status_code, response.json()["code"]) == (409, "incident_closed")


# List: filters, ordering, pagination, query count


def test_list_filters(api_client, agent, customer_a, customer_b, group, manager):
    printer = _raise(customer_a, "打印机卡纸 paper jam")
    vpn = incident_create(actor=agent, caller=customer_b, title="VPN 连接失败", impact=1, urgency=1)
    mail = incident_create(actor=agent, caller=customer_a, title="Mailbox full")
    incident_assign(actor=manager, incident=mail, group=group)
    incident_start(actor=agent, incident=vpn)
    client = client_for(api_client, agent)

    def numbers(**params):
        response = client.get(url("list"), params)
        assert response.status_code == 200, response.json()
        return sorted(i["number"] for i in response.json()["results"])

    assert numbers(status="in_progress") == [vpn.number]
    assert numbers(status=["new", "assigned"]) == sorted([printer.number, mail.number])
    assert numbers(priority=1) == [vpn.number]
    assert numbers(assignment_group=group.pk) == [mail.number]
    assert numbers(q=vpn.number.lower()) == [vpn.number]
    assert numbers(q="打印机") == [printer.number]
    assert numbers(q="连接") == [vpn.number]
    assert numbers(q="paper JAM") == [printer.number]
    assert numbers(organisation=customer_b.organisation_id) == [vpn.number]
    # The workspace's queues, for the requesting agent.
    assert numbers(queue="mine") == [vpn.number]
    assert numbers(queue="groups") == numbers(queue="unassigned") == [mail.number]
    assert numbers(queue="open") == sorted([printer.number, vpn.number, mail.number])
    assert client.get(url("list"), {"queue": "someone"}).status_code == 400


def test_list_orders_and_pages_with_a_cursor(api_client, agent, customer_a):
    for impact in (3, 1, 2):
        incident_create(actor=agent, caller=customer_a, title=f"i{impact}", impact=impact)
    client = client_for(api_client, agent)

    by_priority = client.get(url("list"), {"ordering": "priority"}).json()
    first = client.get(url("list"), {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert [i["title"] for i in by_priority["results"]] == ["i1", "i2", "i3"]
    assert [i["title"] for i in first["results"]] == ["i2", "i1"]
    assert [i["title"] for i in second["results"]] == ["i3"]
    assert second["next"] is None


def test_list_of_a_full_page_makes_a_bounded_number_of_queries(
    api_client, agent, customer_a, group, django_assert_max_num_queries
):
    service = ConfigurationItemFactory(name="Shop", ci_class=ci_class("business_service"))
    cis = [ConfigurationItemFactory() for _ in range(2)]
    for n in range(30):
        incident = incident_create(
            actor=agent,
            caller=customer_a,
            title=f"Slow checkout {n}",
            service=service,
            configuration_items=cis,
            category=category("Software"),
            subcategory=category("Performance", "Software"),
            assignment_group=group,
            assignee=agent,
        )
        incident.watchers.add(agent)
    incident_comment(actor=agent, incident=incident, body="x", visibility=CommentVisibility.PUBLIC)
    client = client_for(api_client, agent)

    with django_assert_max_num_queries(10):
        response = client.get(url("list"), {"page_size": 25})

    assert len(response.json()["results"]) == 25
    api_client.force_authenticate(customer_a)
    with django_assert_max_num_queries(10):
        response = api_client.get(url("list"), {"page_size": 25})
    assert len(response.json()["results"]) == 25


def test_retrieve_reads_only_the_lists_an_incident_has(
    api_client, agent, customer_a, django_assert_num_queries
):
    bare = incident_create(actor=agent, caller=customer_a, title="Printer jams")
    full = incident_create(
        actor=agent,
        caller=customer_a,
        title="Slow checkout",
        configuration_items=[ConfigurationItemFactory(name="web-01")],
    )
    full.watchers.add(agent)
    token, key = api_token_create(user=agent, name="ci", actor=agent)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())  # no touch-up
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    # The token with its user's roles and permissions, then the incident with its joins.
    with django_assert_num_queries(2):
        first = api_client.get(url("detail", bare.pk))
    with django_assert_num_queries(4):  # and its CIs and watchers
        second = api_client.get(url("detail", full.pk))

    assert (first.json()["watchers"], first.json()["configuration_items"]) == ([], [])
    assert [w["id"] for w in second.json()["watchers"]] == [agent.pk]
    assert [c["name"] for c in second.json()["configuration_items"]] == ["web-01"]


# Contract


def test_schema_documents_every_incident_endpoint_with_examples(api_client):
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]

    create = paths["/api/v1/incidents/"]["post"]
    resolve = paths["/api/v1/incidents/{id}/resolve/"]["post"]
    patch = paths["/api/v1/incidents/{id}/"]["patch"]
    upload = paths["/api/v1/incidents/{id}/attachments/"]["post"]

    assert "examples" in create["requestBody"]["content"]["application/json"]
    assert "examples" in resolve["requestBody"]["content"]["application/json"]
    assert {"200", "400", "403", "404", "409", "412"} <= set(resolve["responses"])
    assert any(p["name"] == "If-Match" for p in patch["parameters"])
    assert "multipart/form-data" in upload["requestBody"]["content"]
    actions = {p.split("/")[-2] for p in paths if p.startswith("/api/v1/incidents/{id}/")}
    assert actions >= {
        "assign", "assign-to-me", "start", "pend", "resume", "resolve", "close", "reopen",
        "cancel", "confirm", "reject", "rate", "declare-major", "major-updates", "watch",
        "unwatch", "comments", "attachments", "timeline",
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("if_match", "loser"), [(True, 412), (False, 409)])
def test_two_agents_resolving_at_once_exactly_one_wins(
    customer_a, agent, manager, group, if_match, loser
):
    incident = in_state(S.IN_PROGRESS, customer_a, agent, manager, group)
    headers = {"HTTP_IF_MATCH": f'W/"{incident.version}"'} if if_match else {}
    barrier = threading.Barrier(2)
    statuses = []

    def resolve(user):
        client = APIClient()
        client.force_authenticate(user)
        barrier.wait()
        try:
            response = client.post(url("resolve", incident.pk), RESOLVE, **headers)
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=resolve, args=(user,)) for user in (agent, manager)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, loser]
    incident.refresh_from_db()
    assert incident.version == 4
    events = incident.events.filter(event_type="status_changed", data__to="resolved")
    assert events.count() == 1
