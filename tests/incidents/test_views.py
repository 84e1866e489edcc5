"""The agent workspace for incidents: queues, list, bulk actions, saved filters, logging an
incident, the incident page and its actions, per role."""

from unittest.mock import patch

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from core.choices import CommentVisibility
from core.context_processors import _MARKUP
from core.exceptions import DomainError
from core.models import Attachment, Comment, SavedFilter, TicketEvent
from incidents.choices import IncidentStatus
from incidents.models import Incident
from incidents.services import (
    incident_assign,
    incident_close,
    incident_create,
    incident_declare_major,
    incident_resolve,
    incident_start,
    incident_update,
)
from incidents.views import (
    CHOICE_NAMES,
    choices_cache_key,
    reference_choices,
    reference_choices_forget,
)
from tests.config_items.factories import ConfigurationItemFactory, RelationshipFactory, ci_class
from tests.factories import SupportGroupFactory, UserFactory
from tests.incidents.factories import category

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fresh_choices():
    """Select options are cached in Redis; each test starts without them."""
    reference_choices_forget()
    yield
    reference_choices_forget()


@pytest.fixture
def desk(agent, manager):
    group = SupportGroupFactory(name="Service desk")
    group.members.add(agent, manager)
    return group


@pytest.fixture
def network(agent):
    return SupportGroupFactory(name="Network")


def _log(actor, caller, title="E-mail down", **kwargs):
    return incident_create(actor=actor, caller=caller, title=title, **kwargs)


# ---------------------------------------------------------------- access per role


@pytest.mark.parametrize(
    "name", ["incidents:incident_list", "incidents:incident_create", "incidents:incident_detail"]
)
def test_pages_per_role(client, name, agent, customer_a, customer_a_incident):
    kwargs = {"pk": customer_a_incident.pk} if name.endswith("detail") else None
    url = reverse(name, kwargs=kwargs)

    anonymous = client.get(url)
    client.force_login(customer_a)
    customer_get = client.get(url)
    customer_post = client.post(url, {})
    client.force_login(agent)
    staff = client.get(url)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert customer_get.status_code == 302 and customer_get["Location"] == "/portal/"
    assert customer_post.status_code in (403, 405)
    assert staff.status_code == 200


@pytest.fixture
def customer_a_incident(customer_a):
    return incident_create(actor=customer_a, title="Printer jams")


def test_customer_cannot_post_a_transition(client, customer_a, customer_a_incident):
    client.force_login(customer_a)

    response = client.post(
        reverse("incidents:incident_transition", args=[customer_a_incident.pk]),
        {"transition": "resolve", "resolve-code": "solved_permanently", "resolve-notes": "x"},
    )

    assert response.status_code == 403
    customer_a_incident.refresh_from_db()
    assert customer_a_incident.status == IncidentStatus.NEW


# ---------------------------------------------------------------- queues and list


def test_queues_show_counts_and_my_incidents(client, agent, manager, desk, customer_a):
    mine = _log(agent, customer_a, "Mine", assignment_group=desk, assignee=agent)
    unassigned = _log(agent, customer_a, "Nobody's", assignment_group=desk)
    other = _log(agent, customer_a, "Elsewhere")
    client.force_login(agent)

    response = client.get(reverse("incidents:incident_list"), {"queue": "mine"})

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [i.pk for i in rows] == [mine.pk]
    counts = {tab["key"]: tab["count"] for tab in response.context["tabs"]}
    assert counts["mine"] == 1
    assert counts["groups"] == 2
    assert counts["unassigned"] == 1
    assert counts["open"] == 3
    assert counts["major"] == 0
    unassigned_page = client.get(reverse("incidents:incident_list"), {"queue": "unassigned"})
    assert [i.pk for i in unassigned_page.context["rows"]] == [unassigned.pk]
    open_page = client.get(reverse("incidents:incident_list"), {"queue": "open"})
    assert {i.pk for i in open_page.context["rows"]} == {mine.pk, unassigned.pk, other.pk}


def test_filters_and_text_search(client, agent, customer_a, customer_b, desk):
    printer = _log(agent, customer_a, "Printer on fire", impact=1, urgency=1)
    _log(agent, customer_b, "VPN slow")
    client.force_login(agent)
    url = reverse("incidents:incident_list")

    by_text = client.get(url, {"queue": "all", "q": "printer"})
    by_number = client.get(url, {"queue": "all", "q": printer.number.lower()})
    by_org = client.get(url, {"queue": "all", "organisation": customer_a.organisation_id})
    by_priority = client.get(url, {"queue": "all", "priority": "1"})
    by_date = client.get(url, {"queue": "all", "created_after": "2000-01-01"})
    bad_date = client.get(url, {"queue": "all", "created_after": "yesterday"})

    for response in (by_text, by_number, by_org, by_priority):
        assert [i.pk for i in response.context["rows"]] == [printer.pk]
    assert len(by_date.context["rows"]) == 2
    # The top bar's global search box stays empty: the list's query is its own.
    assert 'name="q" value="queue=' not in by_text.content.decode()
    assert bad_date.status_code == 200 and bad_date.context["rows"] == []


def test_htmx_request_gets_only_the_results_fragment(client, agent, customer_a):
    _log(agent, customer_a, "Fragment me")
    client.force_login(agent)

    response = client.get(
        reverse("incidents:incident_list"),
        {"queue": "all"},
        HTTP_HX_TARGET="incident-results",
        **HTMX,
    )

    body = response.content.decode()
    assert "Fragment me" in body
    assert "<html" not in body and 'id="incident-filters"' not in body


def test_keyset_pagination_walks_forward_and_back_without_gaps(client, agent, customer_a):
    created = [_log(agent, customer_a, f"Row {n}") for n in range(30)]
    client.force_login(agent)
    url = reverse("incidents:incident_list")

    first = client.get(url, {"queue": "all", "sort": "-created", "per_page": 25})
    second = client.get(
        url,
        {"queue": "all", "sort": "-created", "per_page": 25, "after": first.context["next_cursor"]},
    )
    back = client.get(
        url,
        {
            "queue": "all",
            "sort": "-created",
            "per_page": 25,
            "before": second.context["previous_cursor"],
        },
    )

    newest_first = [i.pk for i in reversed(created)]
    assert [i.pk for i in first.context["rows"]] == newest_first[:25]
    assert [i.pk for i in second.context["rows"]] == newest_first[25:]
    assert second.context["next_cursor"] == ""
    assert [i.pk for i in back.context["rows"]] == newest_first[:25]
    assert back.context["previous_cursor"] == ""
    assert first.context["total"] == 30 and not first.context["count_capped"]


def test_priority_sort_puts_critical_first(client, agent, customer_a):
    low = _log(agent, customer_a, "Low", impact=3, urgency=3)
    critical = _log(agent, customer_a, "Critical", impact=1, urgency=1)
    client.force_login(agent)

    response = client.get(reverse("incidents:incident_list"), {"queue": "all", "sort": "priority"})

    assert [i.pk for i in response.context["rows"]] == [critical.pk, low.pk]


def test_a_forged_cursor_is_ignored(client, agent, customer_a):
    _log(agent, customer_a)
    client.force_login(agent)

    response = client.get(reverse("incidents:incident_list"), {"queue": "all", "after": "!!nope"})

    assert response.status_code == 200 and len(response.context["rows"]) == 1


@pytest.mark.parametrize("per_page", [25, 100])
def test_list_query_count_is_constant(
    client, agent, desk, customer_a, per_page, django_assert_max_num_queries
):
    org_caller = [UserFactory(organisation=customer_a.organisation) for _ in range(3)]
    service = ConfigurationItemFactory(name="Mail", ci_class=ci_class("business_service"))
    for n in range(per_page + 5):
        _log(
            agent,
            org_caller[n % 3],
            f"Row {n}",
            service=service,
            category=category("Software"),
            assignment_group=desk,
            assignee=agent if n % 2 else None,
        )
    client.force_login(agent)
    url = reverse("incidents:incident_list")
    client.get(url)  # warms the cached select options

    with django_assert_max_num_queries(10) as captured:
        response = client.get(url, {"queue": "groups", "per_page": per_page})

    assert len(response.context["rows"]) == per_page
    statements = [q["sql"] for q in captured.captured_queries]
    rows_query = next(i for i, sql in enumerate(statements) if f"LIMIT {per_page + 1}" in sql)
    assert statements[rows_query - 1] == "SET LOCAL join_collapse_limit = 1"  # planned as written


def test_navigation_shows_my_open_incident_count(client, agent, customer_a, desk):
    _log(agent, customer_a, assignment_group=desk, assignee=agent)
    client.force_login(agent)

    response = client.get(reverse("core:home"))

    assert 'title="Open incidents assigned to you">1</span>' in response.content.decode()


def test_the_navigation_is_rendered_once_per_language_and_active_entry_with_counts_per_user(
    client, agent, customer_a, desk
):
    _MARKUP.clear()
    colleague = UserFactory(roles=["agent"])
    _log(agent, customer_a, assignment_group=desk, assignee=agent)
    home, queue = reverse("core:home"), reverse("incidents:incident_list")
    client.force_login(agent)

    with patch("core.context_processors.render_to_string", wraps=render_to_string) as render:
        first = client.get(queue).content.decode()
        again = client.get(queue, {"queue": "open"}).content.decode()
        other = client.get(home).content.decode()  # another active entry
        client.force_login(colleague)  # the same entries, a count of their own
        colleagues = client.get(queue).content.decode()
        agent.language = "zh-hans"
        agent.save(update_fields=["language"])
        client.force_login(agent)
        chinese = client.get(queue).content.decode()

    assert render.call_count == 3  # English on the queue and on home, Chinese on the queue
    for html in (first, again):
        assert '<a class="nav-link active" href="/incidents/" data-nav="incidents"' in html
        assert 'title="Open incidents assigned to you">1</span>' in html
    assert '<a class="nav-link" href="/incidents/" data-nav="incidents"' in other
    assert '<a class="nav-link active" href="/incidents/" data-nav="incidents"' in colleagues
    assert "nav-count" not in colleagues
    assert "<span>事件</span>" in chinese and 'title="分派给您的未关闭事件">1</span>' in chinese


def test_detail_page_query_count_is_bounded(
    client, agent, customer_a, desk, django_assert_max_num_queries
):
    incident = _log(agent, customer_a, assignment_group=desk, assignee=agent)
    for n in range(10):
        client.force_login(agent)
        client.post(
            reverse("incidents:incident_comment", args=[incident.pk]),
            {"body": f"Note {n}", "visibility": "work_note"},
        )
    client.get(incident.get_absolute_url())

    with django_assert_max_num_queries(30):
        response = client.get(incident.get_absolute_url())

    assert len([e for e in response.context["timeline"] if e.kind == "comment"]) == 10


def test_detail_page_reads_only_the_lists_that_have_rows(client, agent, customer_a, desk):
    bare = _log(agent, customer_a, assignment_group=desk)
    full = _log(agent, customer_a, title="Shop down", assignment_group=desk)
    ci = ConfigurationItemFactory(name="web-01")
    full.configuration_items.add(ci)
    full.watchers.add(agent)
    child = _log(agent, customer_a, title="Checkout slow", parent=full)
    client.force_login(agent)
    client.get(bare.get_absolute_url())

    with CaptureQueriesContext(connection) as queries:
        response = client.get(bare.get_absolute_url())
    assert response.status_code == 200
    lists = ('JOIN "incidents_incident_watchers"', 'JOIN "incidents_incident_configuration')
    assert not [q["sql"] for q in queries if any(table in q["sql"] for table in lists)]

    response = client.get(full.get_absolute_url())
    page = response.content.decode()
    assert "web-01" in page and child.number in page
    assert response.context["watchers"] == [agent] and response.context["is_watching"]


def test_detail_page_reads_only_the_groups_options(client, agent, customer_a, desk):
    """The shared select options are cached one list per entry: the incident page reads
    the groups (its assignment select), not the whole desk's agents."""
    incident = _log(agent, customer_a, assignment_group=desk)
    client.force_login(agent)

    page = client.get(incident.get_absolute_url()).content.decode()

    cached = cache.get_many([choices_cache_key(name) for name in CHOICE_NAMES])
    assert [key.rsplit(":", 1)[1] for key in cached] == ["groups"]
    assert f'<option value="{desk.pk}" selected>Service desk</option>' in page
    client.get(reverse("incidents:incident_list"))
    assert set(reference_choices()) == set(CHOICE_NAMES)
    assert len(cache.get_many([choices_cache_key(n) for n in CHOICE_NAMES])) == 5


# ---------------------------------------------------------------- bulk actions


def test_bulk_resolve_reports_each_row(client, agent, customer_a, desk):
    started = incident_start(
        actor=agent, incident=_log(agent, customer_a, "A", assignment_group=desk, assignee=agent)
    )
    closed_one = _log(agent, customer_a, "B", assignment_group=desk, assignee=agent)
    incident_resolve(actor=agent, incident=closed_one, code="solved_permanently", notes="Done")
    client.force_login(agent)

    response = client.post(
        reverse("incidents:incident_bulk"),
        {
            "ids": [started.pk, closed_one.pk, 999999],
            "action": "resolve",
            "code": "solved_workaround",
            "notes": "Restarted the mail relay.",
        },
        **HTMX,
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "incidentsChanged"
    results = {r["pk"]: r for r in response.context["results"]}
    assert results[started.pk]["ok"] is True
    assert results[closed_one.pk]["ok"] is False
    assert "cannot" in results[closed_one.pk]["message"]
    assert results[999999]["ok"] is False
    started.refresh_from_db()
    assert started.status == IncidentStatus.RESOLVED
    assert started.resolution_notes == "Restarted the mail relay."
    body = response.content.decode()
    assert "1 succeeded" in body and "2 failed" in body


def test_bulk_assign_and_assign_to_me(client, agent, manager, customer_a, desk, network):
    first = _log(agent, customer_a, "A")
    second = _log(agent, customer_a, "B")
    client.force_login(agent)

    assign = client.post(
        reverse("incidents:incident_bulk"),
        {"ids": [first.pk, second.pk], "action": "assign", "group": network.pk},
        **HTMX,
    )
    to_me = client.post(
        reverse("incidents:incident_bulk"), {"ids": [first.pk], "action": "assign_to_me"}, **HTMX
    )

    assert all(r["ok"] for r in assign.context["results"])
    assert to_me.context["results"][0]["ok"] is True
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.assignment_group, first.assignee) == (desk, agent)
    assert (second.assignment_group, second.assignee, second.status) == (
        network,
        None,
        IncidentStatus.ASSIGNED,
    )


def test_bulk_without_required_input_applies_nothing(client, agent, customer_a):
    incident = _log(agent, customer_a)
    client.force_login(agent)

    response = client.post(
        reverse("incidents:incident_bulk"), {"ids": [incident.pk], "action": "resolve"}, **HTMX
    )

    assert response.status_code == 200
    assert response.context["results"] == []
    assert "Choose a resolution code." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.NEW


# ---------------------------------------------------------------- saved filters


def test_saved_filters_save_list_and_delete(client, agent, manager):
    client.force_login(agent)
    save_url = reverse("incidents:saved_filter_save")

    response = client.post(save_url, {"name": "P1 of mine", "query": "queue=mine&priority=1"})
    client.post(save_url, {"name": "P1 of mine", "query": "queue=mine&priority=2&after=abc"})
    listed = client.get(reverse("incidents:incident_list"))

    saved = SavedFilter.objects.get(owner=agent)
    assert response.status_code == 302
    assert response["Location"].endswith("?queue=mine&priority=1")
    assert (saved.list_name, saved.name, saved.query_string) == (
        "incidents",
        "P1 of mine",
        "queue=mine&priority=2",
    )
    assert "P1 of mine" in listed.content.decode()
    client.force_login(manager)
    client.post(reverse("incidents:saved_filter_delete", args=[saved.pk]))
    assert SavedFilter.objects.filter(pk=saved.pk).exists()
    client.force_login(agent)
    client.post(reverse("incidents:saved_filter_delete", args=[saved.pk]))
    assert not SavedFilter.objects.filter(pk=saved.pk).exists()


def test_saved_filter_without_name_is_refused(client, agent):
    client.force_login(agent)

    response = client.post(reverse("incidents:saved_filter_save"), {"name": " ", "query": "q=x"})

    assert response.status_code == 302
    assert not SavedFilter.objects.exists()


# ---------------------------------------------------------------- create


def test_create_form_logs_a_phone_incident(client, agent, customer_a, desk):
    service = ConfigurationItemFactory(name="Mail", ci_class=ci_class("business_service"))
    hardware = category("Hardware")
    client.force_login(agent)
    page = client.get(reverse("incidents:incident_create"))

    response = client.post(
        reverse("incidents:incident_create"),
        {
            "caller": customer_a.pk,
            "channel": "phone",
            "title": "Outlook keeps crashing",
            "description": "Since **this morning**.",
            "service": service.pk,
            "category": hardware.pk,
            "subcategory": hardware.children.first().pk,
            "impact": 1,
            "urgency": 2,
            "assignment_group": desk.pk,
            "assignee": "",
        },
    )

    assert page.status_code == 200
    assert 'id="priority-matrix"' in page.content.decode()
    incident = Incident.objects.get(title="Outlook keeps crashing")
    assert response.status_code == 302
    assert response["Location"] == incident.get_absolute_url()
    assert (incident.caller, incident.organisation, incident.channel) == (
        customer_a,
        customer_a.organisation,
        "phone",
    )
    assert (incident.assignment_group, incident.status, incident.created_by) == (
        desk,
        IncidentStatus.ASSIGNED,
        agent,
    )
    assert incident.priority == 2


@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_create_form_is_re_rendered(client, agent, customer_a, htmx):
    client.force_login(agent)
    headers = HTMX if htmx else {}

    response = client.post(
        reverse("incidents:incident_create"),
        {"caller": customer_a.pk, "channel": "phone", "title": "", "impact": 9, "urgency": 1},
        **headers,
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"title", "impact"}
    assert customer_a.get_full_name() in response.content.decode()
    assert not Incident.objects.exists()


def test_create_refused_by_the_service_shows_the_reason(client, agent, customer_a, network):
    client.force_login(agent)

    response = client.post(
        reverse("incidents:incident_create"),
        {
            "caller": customer_a.pk,
            "channel": "phone",
            "title": "Wrong pair",
            "impact": 2,
            "urgency": 2,
            "assignment_group": network.pk,
            "assignee": agent.pk,
        },
    )

    assert response.status_code == 200
    assert "The assignee is not in the group." in response.content.decode()
    assert not Incident.objects.exists()


def test_caller_lookup_finds_customers_and_staff(client, agent, customer_a):
    customer_a.first_name, customer_a.last_name = "Wendy", "Walker"
    customer_a.save()
    staff = UserFactory(first_name="Walter", last_name="White")
    client.force_login(agent)

    response = client.get(reverse("incidents:caller_lookup"), {"q": "wal"})
    by_email = client.get(reverse("incidents:caller_lookup"), {"q": customer_a.email})

    body = response.content.decode()
    assert "Wendy Walker" in body and "Walter White" in body
    assert customer_a.organisation.name in body
    assert f'data-lookup-id="{staff.pk}"' in body
    assert f'data-lookup-id="{customer_a.pk}"' in by_email.content.decode()


def test_subcategory_options_follow_the_category(client, agent):
    hardware = category("Hardware")
    client.force_login(agent)

    response = client.get(reverse("incidents:subcategory_options"), {"category": hardware.pk})

    body = response.content.decode()
    for sub in hardware.children.all():
        assert sub.name in body
    assert body.count("<option") == hardware.children.count() + 1


def test_transition_dialogs_and_reply_box_are_in_the_language_of_each_page(
    client, agent, desk, customer_a
):
    incident = _log(agent, customer_a, assignment_group=desk, assignee=agent)
    client.force_login(agent)

    def page_in(language: str) -> bytes:
        agent.language = language  # the profile's language wins over the browser's
        agent.save(update_fields=["language"])
        return client.get(incident.get_absolute_url()).content

    english, chinese, english_again = page_in("en"), page_in("zh-hans"), page_in("en")

    def dialog(body: bytes) -> str:
        resolve = body.decode().split('id="modal-resolve"', 1)[1]
        return resolve.split('class="modal-body">', 1)[1].split('class="modal-footer"', 1)[0]

    assert 'name="resolve-code"' in dialog(english) and "Resolution code" in dialog(english)
    assert "解决代码" in dialog(chinese) and "Resolution code" not in dialog(chinese)
    assert dialog(english_again) == dialog(english)
    assert 'aria-label="Visibility"' in english.decode()
    assert 'aria-label="可见性"' in chinese.decode()


def test_assignee_options_are_the_members_of_the_chosen_group(client, agent, manager, desk):
    outsider = UserFactory(username="outsider", first_name="Olga", roles=[Role.AGENT])
    network = SupportGroupFactory(name="Network")
    network.members.add(outsider)
    client.force_login(agent)

    desk_options = client.get(reverse("incidents:assignee_options"), {"group": desk.pk})
    network_options = client.get(reverse("incidents:assignee_options"), {"group": network.pk})
    no_group = client.get(reverse("incidents:assignee_options"), {"group": "x"})

    assert f'value="{agent.pk}"' in desk_options.content.decode()
    assert f'value="{manager.pk}"' in desk_options.content.decode()
    assert f'value="{outsider.pk}"' not in desk_options.content.decode()
    assert network_options.content.decode().count("<option") == 2  # "—" and Olga
    assert no_group.content.decode().count("<option") == 1


def test_incident_page_offers_the_group_members_as_assignees(client, agent, desk, customer_a):
    outsider = UserFactory(username="outsider", roles=[Role.AGENT])
    incident = _log(agent, customer_a, assignment_group=desk, assignee=agent)
    client.force_login(agent)

    page = client.get(incident.get_absolute_url()).content.decode()

    assignee_select = page.split('id="assign-assignee"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{agent.pk}" selected>' in assignee_select
    assert f'value="{outsider.pk}"' not in assignee_select


# ---------------------------------------------------------------- incident page


def test_detail_page_shows_transitions_timeline_and_affected_services(
    client, agent, customer_a, desk
):
    shop = ConfigurationItemFactory(name="Online shop", ci_class=ci_class("business_service"))
    shop.organisations.set([customer_a.organisation])
    app = ConfigurationItemFactory(name="shop-app")
    RelationshipFactory(source=shop, target=app)
    incident = _log(agent, customer_a, "Checkout fails", assignment_group=desk, assignee=agent)
    incident.configuration_items.set([app])
    client.force_login(agent)

    response = client.get(incident.get_absolute_url())

    body = response.content.decode()
    assert response.status_code == 200
    assert incident.number in body and "Checkout fails" in body
    names = [t["name"] for t in response.context["transitions"]]
    assert names == ["start", "resolve"]
    assert 'id="modal-resolve"' in body
    assert response.context["timeline"]
    # The impact panel loads after the page, from its own URL.
    affected_url = reverse("incidents:incident_affected", args=[incident.pk])
    assert f'hx-get="{affected_url}"' in body
    panel = client.get(affected_url)
    assert [s.name for s in panel.context["affected"].services] == ["Online shop"]
    assert customer_a.organisation.name in panel.content.decode()
    assert "Online shop" in panel.content.decode()


def test_the_impact_panel_is_not_loaded_for_an_incident_without_service_or_cis(
    client, agent, customer_a, desk
):
    incident = _log(agent, customer_a, "Printer jams", assignment_group=desk, assignee=agent)
    client.force_login(agent)

    body = client.get(incident.get_absolute_url()).content.decode()

    assert reverse("incidents:incident_affected", args=[incident.pk]) not in body
    assert "Link the service or CIs" in body


def test_transition_posts_run_the_service(client, agent, customer_a, desk):
    incident = _log(agent, customer_a, assignment_group=desk, assignee=agent)
    client.force_login(agent)
    url = reverse("incidents:incident_transition", args=[incident.pk])

    start = client.post(url, {"transition": "start"})
    pend = client.post(url, {"transition": "pend", "pend-reason": "awaiting_customer"})
    resume = client.post(url, {"transition": "resume"})
    resolve = client.post(
        url,
        {"transition": "resolve", "resolve-code": "solved_permanently", "resolve-notes": "Fixed."},
    )

    for response in (start, pend, resume, resolve):
        assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.resolution_notes == "Fixed."


def test_a_transition_from_a_stale_page_is_refused(client, agent, manager, customer_a, desk):
    incident = _log(agent, customer_a, assignment_group=desk, assignee=agent)
    client.force_login(agent)
    page = client.get(reverse("incidents:incident_detail", args=[incident.pk])).content.decode()
    seen = incident.version
    assert f'name="version" value="{seen}"' in page
    incident_update(actor=manager, incident=incident, impact=1)  # meanwhile
    url = reverse("incidents:incident_transition", args=[incident.pk])

    stale = client.post(url, {"transition": "start", "version": seen}, follow=True)
    after_reload = client.post(url, {"transition": "start", "version": seen + 1})

    texts = [str(m) for m in stale.context["messages"]]
    assert any("Someone else changed this incident" in text for text in texts), texts
    assert after_reload.status_code == 302
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.IN_PROGRESS
    assert incident.events.filter(event_type="status_changed").count() == 1


@pytest.mark.parametrize(
    "data,message",
    [
        ({"transition": "close"}, "cannot do"),
        ({"transition": "resolve", "resolve-code": "solved_permanently"}, "Resolution notes"),
        ({"transition": "cancel", "cancel-reason": "Twice"}, "not allowed"),
        ({"transition": "explode"}, "Unknown transition."),
    ],
)
def test_refused_transitions_show_a_message_not_an_error(client, agent, customer_a, data, message):
    incident = _log(agent, customer_a)
    client.force_login(agent)

    response = client.post(
        reverse("incidents:incident_transition", args=[incident.pk]), data, follow=True
    )

    assert response.status_code == 200
    texts = [str(m) for m in response.context["messages"]]
    assert any(message in text for text in texts), texts
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.NEW


def test_stale_edit_shows_a_conflict_and_overwrites_nothing(client, agent, manager, customer_a):
    incident = _log(agent, customer_a, "Original")
    client.force_login(agent)
    form = client.get(reverse("incidents:incident_update", args=[incident.pk]))
    loaded_version = form.context["form"].initial["version"]
    incident_update(actor=manager, incident=incident, title="Changed by the manager")

    response = client.post(
        reverse("incidents:incident_update", args=[incident.pk]),
        {"version": loaded_version, "title": "Changed by the agent", "impact": 2, "urgency": 2},
        **HTMX,
    )

    assert response.status_code == 200
    assert "Someone else changed this incident" in response.content.decode()
    incident.refresh_from_db()
    assert incident.title == "Changed by the manager"


def test_edit_saves_and_recomputes_priority(client, agent, customer_a):
    incident = _log(agent, customer_a, "Original", impact=3, urgency=3)
    client.force_login(agent)

    response = client.post(
        reverse("incidents:incident_update", args=[incident.pk]),
        {"version": incident.version, "title": "Sharper title", "impact": 1, "urgency": 1},
    )

    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.title, incident.priority) == ("Sharper title", 1)


def test_edit_links_a_parent_by_its_number(client, agent, customer_a):
    parent = _log(agent, customer_a, "Mail down for everyone")
    incident = _log(agent, customer_a, "No mail in Berlin")
    client.force_login(agent)
    url = reverse("incidents:incident_update", args=[incident.pk])
    fields = {"title": incident.title, "impact": 2, "urgency": 2}

    unknown = client.post(url, {**fields, "version": incident.version, "parent": "INC9999999"})
    linked = client.post(
        url, {**fields, "version": incident.version, "parent": parent.number.lower()}
    )
    form = client.get(url).content.decode()

    assert unknown.status_code == 200
    assert "No incident has the number INC9999999." in unknown.content.decode()
    assert linked.status_code == 302
    incident.refresh_from_db()
    assert incident.parent == parent
    assert f'value="{parent.number}"' in form


def test_assign_to_me_and_reassign(client, agent, customer_a, desk, network):
    incident = _log(agent, customer_a)
    client.force_login(agent)
    url = reverse("incidents:incident_assign", args=[incident.pk])

    client.post(url, {"to_me": "1"})
    incident.refresh_from_db()
    assert (incident.assignment_group, incident.assignee) == (desk, agent)
    client.post(url, {"group": network.pk, "assignee": "", "version": incident.version})

    incident.refresh_from_db()
    assert (incident.assignment_group, incident.assignee) == (network, None)


def test_reply_and_work_note_with_attachment(client, agent, customer_a):
    incident = _log(agent, customer_a)
    client.force_login(agent)
    url = reverse("incidents:incident_comment", args=[incident.pk])

    reply = client.post(url, {"body": "We are on it.", "visibility": "public"})
    note = client.post(
        url,
        {
            "body": "Relay queue is full.",
            "visibility": "work_note",
            "file": SimpleUploadedFile("queue.txt", b"1200 messages"),
        },
    )

    assert reply.status_code == 302 and note.status_code == 302
    comments = Comment.objects.order_by("pk")
    assert [(c.body, c.visibility) for c in comments] == [
        ("We are on it.", CommentVisibility.PUBLIC),
        ("Relay queue is full.", CommentVisibility.WORK_NOTE),
    ]
    attachment = Attachment.objects.get()
    assert (attachment.name, attachment.is_public) == ("queue.txt", False)
    incident.refresh_from_db()
    assert incident.first_response_at is not None


def test_a_file_sent_alone_as_a_work_note_stays_internal(client, agent, customer_a):
    incident = _log(agent, customer_a)
    client.force_login(agent)
    url = reverse("incidents:incident_comment", args=[incident.pk])

    internal = client.post(
        url, {"body": "", "visibility": "work_note", "file": SimpleUploadedFile("dump.txt", b"x")}
    )
    public = client.post(
        url, {"body": "", "visibility": "public", "file": SimpleUploadedFile("howto.txt", b"y")}
    )
    page = client.get(reverse("incidents:incident_detail", args=[incident.pk])).content.decode()
    client.force_login(customer_a)
    portal = client.get(reverse("portal:incident_detail", args=[incident.pk])).content.decode()
    hidden = Attachment.objects.get(name="dump.txt")
    download = client.get(reverse("core:attachment_download", args=[hidden.pk]))

    assert internal.status_code == public.status_code == 302
    assert not Comment.objects.exists()
    assert dict(Attachment.objects.values_list("name", "is_public")) == {
        "dump.txt": False,
        "howto.txt": True,
    }
    assert "dump.txt" in page and "Internal work note</span>" in page
    assert "howto.txt" in portal and "dump.txt" not in portal
    assert download.status_code == 404


def test_refused_upload_is_a_form_error(client, agent, customer_a):
    incident = _log(agent, customer_a)
    client.force_login(agent)

    response = client.post(
        reverse("incidents:incident_comment", args=[incident.pk]),
        {
            "body": "See attached",
            "visibility": "public",
            "file": SimpleUploadedFile("run.exe", b"MZ"),
        },
    )

    assert response.status_code == 200
    assert "are not accepted" in response.content.decode()
    assert "See attached</textarea>" in response.content.decode()  # what was typed stays
    assert not Comment.objects.exists() and not Attachment.objects.exists()
    assert "are not accepted" not in client.get(incident.get_absolute_url()).content.decode()


def test_watchers_add_and_remove(client, agent, manager, customer_a):
    incident = _log(agent, customer_a)
    client.force_login(agent)
    url = reverse("incidents:incident_watch", args=[incident.pk])

    client.post(url, {"watch": "1"})
    client.post(url, {"watch": "1", "user": manager.pk})
    assert set(incident.watchers.all()) == {agent, manager}
    client.post(url, {"watch": "0", "user": agent.pk})

    assert list(incident.watchers.all()) == [manager]
    page = client.get(reverse("incidents:incident_detail", args=[incident.pk])).content.decode()
    assert f"added {manager} to the watchers" in page
    assert f"removed {agent} from the watchers" in page


def test_the_people_pickers_search_agents_and_refuse_a_name_not_chosen(
    client, agent, manager, customer_a
):
    UserFactory(first_name="Wendy", last_name="Watts", roles=["agent"])
    UserFactory(first_name="Wendell", last_name="Customer", roles=["customer"])
    UserFactory(first_name="Wenona", last_name="Gone", roles=["agent"], is_active=False)
    incident = _log(agent, customer_a)
    client.force_login(agent)
    lookup = reverse("incidents:agent_lookup")

    found = client.get(lookup, {"q": "wen"})
    short = client.get(lookup, {"q": "w"})
    page = client.get(incident.get_absolute_url()).content.decode()
    typed = client.post(
        reverse("incidents:incident_watch", args=[incident.pk]),
        {"watch": "1", "user": "", "q": "Wendy"},
        follow=True,
    )

    # Agents only, active only, by name; nothing under two characters.
    assert [str(p) for p in found.context["results"]] == ["Wendy Watts"]
    assert 'data-lookup-name="Wendy Watts"' in found.content.decode()
    assert short.context["results"] == []
    # The page no longer lists every agent in a select: the pickers search.
    assert f'value="{manager.pk}"' not in page
    assert f'hx-get="{lookup}"' in page
    assert "Choose a person from the list." in typed.content.decode()
    assert not incident.watchers.exists()


def test_cis_added_and_removed(client, agent, customer_a):
    incident = _log(agent, customer_a)
    server = ConfigurationItemFactory(name="mx-01", ci_class=ci_class("server"))
    client.force_login(agent)
    url = reverse("incidents:incident_cis", args=[incident.pk])

    client.post(url, {"ci": server.pk})
    assert list(incident.configuration_items.all()) == [server]
    client.post(url, {"remove": server.pk})

    assert not incident.configuration_items.exists()
    assert TicketEvent.objects.filter(event_type="field_changed").count() == 2


def test_major_incident_declared_by_manager_with_communications(client, agent, manager, customer_a):
    incident = _log(agent, customer_a)
    client.force_login(agent)
    refused = client.post(reverse("incidents:incident_declare_major", args=[incident.pk]))
    client.force_login(manager)

    typed = client.post(
        reverse("incidents:incident_declare_major", args=[incident.pk]),
        {"manager": "", "q": "nobody in particular"},
    )
    incident.refresh_from_db()
    assert not incident.is_major and typed.status_code == 302
    client.post(reverse("incidents:incident_declare_major", args=[incident.pk]), {"manager": ""})
    client.post(
        reverse("incidents:incident_major_update", args=[incident.pk]),
        {"body": "Mail is down for all of Acme.", "send_to_customers": "on"},
    )
    page = client.get(incident.get_absolute_url())

    assert refused.status_code == 403
    incident.refresh_from_db()
    assert incident.is_major and incident.major_incident_manager == manager
    assert "Mail is down for all of Acme." in page.content.decode()
    major = client.get(reverse("incidents:incident_list"), {"queue": "major"})
    assert [i.pk for i in major.context["rows"]] == [incident.pk]
    timeline = page.content.decode().split('id="timeline"')[1]
    assert f"declared a major incident, managed by {manager}" in timeline
    assert "logged a major incident update" in timeline
    assert "Mail is down for all of Acme." in timeline


def test_a_major_incident_takes_updates_until_it_is_closed(client, agent, manager, customer_a):
    incident = _log(agent, customer_a)
    incident = incident_declare_major(actor=manager, incident=incident)
    incident = incident_start(actor=agent, incident=incident)
    incident_resolve(actor=agent, incident=incident, code="solved_workaround", notes="Failover.")
    client.force_login(manager)
    url = reverse("incidents:incident_major_update", args=[incident.pk])

    resolved_page = client.get(incident.get_absolute_url()).content.decode()
    restored = client.post(url, {"body": "Service restored for everyone."})
    incident_close(actor=agent, incident=incident)
    closed_page = client.get(incident.get_absolute_url()).content.decode()
    late = client.post(url, {"body": "One more thing."}, follow=True)

    assert url in resolved_page and url not in closed_page
    assert restored.status_code == 302
    assert list(incident.major_updates.values_list("body", flat=True)) == [
        "Service restored for everyone."
    ]
    assert "A closed or cancelled incident takes no more updates." in late.content.decode()


def test_assign_of_a_closed_incident_is_a_message(client, agent, customer_a, desk):
    incident = _log(agent, customer_a, assignment_group=desk, assignee=agent)
    incident = incident_assign(actor=agent, incident=incident, group=desk, assignee=agent)
    incident_resolve(actor=agent, incident=incident, code="duplicate", notes="Dup")
    client.force_login(agent)

    response = client.post(
        reverse("incidents:incident_assign", args=[incident.pk]), {"to_me": "1"}, follow=True
    )

    assert response.status_code == 200
    assert any("Only open incidents" in str(m) for m in response.context["messages"])


# ---------------------------------------------------------------- admin


@pytest.mark.parametrize(
    "model", ["category", "prioritymatrix", "assignmentrule", "incident", "satisfactionrating"]
)
def test_admin_lists_load(client, administrator, customer_a, model):
    incident_create(actor=customer_a, title="Printer jams")
    client.force_login(administrator)

    response = client.get(reverse(f"admin:incidents_{model}_changelist"))

    assert response.status_code == 200


def test_admin_incident_is_read_mostly(client, administrator, customer_a):
    incident = incident_create(actor=customer_a, title="Printer jams")
    client.force_login(administrator)
    url = reverse("admin:incidents_incident_change", args=[incident.pk])

    page = client.get(url)
    add = client.get(reverse("admin:incidents_incident_add"))

    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()
    assert 'name="title"' in page.content.decode()
    assert add.status_code == 403


def test_an_admin_correction_is_versioned_and_audited(client, administrator, customer_a):
    incident = incident_create(actor=customer_a, title="Printer jams")
    client.force_login(administrator)
    url = reverse("admin:incidents_incident_change", args=[incident.pk])

    saved = client.post(url, {"title": "Printer jams on floor 3", "description": ""})

    assert saved.status_code == 302
    stored = Incident.objects.get(pk=incident.pk)
    assert (stored.title, stored.version) == ("Printer jams on floor 3", incident.version + 1)
    change = TicketEvent.objects.get(object_id=incident.pk, event_type="field_changed")
    assert (change.actor, change.data["field"], change.data["old"]) == (
        administrator,
        "title",
        "Printer jams",
    )
    with pytest.raises(DomainError) as stale:
        incident_update(
            actor=customer_a, incident=stored, expected_version=incident.version, title="x"
        )
    assert stale.value.code == "stale_version"
