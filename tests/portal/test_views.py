"""The customer portal's incident pages: access per role and organisation, raising with
files, replies, files, confirming, rejecting and rating a resolution."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.choices import CommentVisibility
from core.models import Attachment, Comment
from incidents.choices import Channel, IncidentStatus, PendingReason, ResolutionCode
from incidents.models import Incident, SatisfactionRating
from incidents.services import (
    incident_assign,
    incident_comment,
    incident_create,
    incident_pend,
    incident_resolve,
    incident_start,
)
from tests.incidents.factories import category


def _in_progress(incident, agent, desk):
    incident_assign(actor=agent, incident=incident, group=desk, assignee=agent)
    return incident_start(actor=agent, incident=incident)


def _resolved(incident, agent, desk, notes="Replaced the fuser unit."):
    if incident.status in (IncidentStatus.NEW, IncidentStatus.ASSIGNED):
        _in_progress(incident, agent, desk)
    return incident_resolve(
        actor=agent, incident=incident, code=ResolutionCode.SOLVED_PERMANENTLY, notes=notes
    )


def _detail(incident):
    return reverse("portal:incident_detail", args=[incident.pk])


PAGES = ["portal:home", "portal:my_tickets", "portal:raise_ticket"]


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_is_sent_to_sign_in(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", PAGES)
def test_agent_without_portal_permission_is_refused(client, agent, name):
    client.force_login(agent)

    assert client.get(reverse(name)).status_code == 403


def test_agent_is_refused_an_incident_page_and_its_actions(client, agent, incident_a):
    client.force_login(agent)

    assert client.get(_detail(incident_a)).status_code == 403
    response = client.post(
        reverse("portal:incident_reply", args=[incident_a.pk]), {"body": "hello"}
    )
    assert response.status_code == 403
    assert not Comment.objects.exists()


@pytest.mark.parametrize("name", PAGES)
def test_customer_gets_the_portal_pages(client, customer_a, incident_a, name):
    client.force_login(customer_a)

    assert client.get(reverse(name)).status_code == 200


def test_customer_sees_their_incident(client, customer_a, incident_a):
    client.force_login(customer_a)

    response = client.get(_detail(incident_a))

    assert response.status_code == 200
    html = response.content.decode()
    assert incident_a.number in html
    assert "Printer on floor 2 jams" in html
    assert "<em>second</em>" in html
    assert "Received" in html


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("portal:incident_reply", {"body": "Any news?"}),
        ("portal:incident_attach", {}),
        ("portal:incident_confirm", {}),
        ("portal:incident_reject", {"reason": "Still jams"}),
        ("portal:incident_rate", {"score": "5", "comment": "Great"}),
    ],
)
def test_customer_of_another_organisation_gets_404_and_changes_nothing(
    client, customer_b, agent, desk, incident_a, name, data
):
    incident = _resolved(incident_a, agent, desk)
    version = Incident.objects.get(pk=incident.pk).version
    comments = Comment.objects.count()
    client.force_login(customer_b)
    if name == "portal:incident_attach":
        data = {"files": SimpleUploadedFile("log.txt", b"x")}

    response = client.post(reverse(name, args=[incident.pk]), data)

    assert response.status_code == 404
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.version == version
    assert Comment.objects.count() == comments
    assert not Attachment.objects.exists()
    assert not SatisfactionRating.objects.exists()


def test_customer_of_another_organisation_gets_404_for_the_page(client, customer_b, incident_a):
    client.force_login(customer_b)

    assert client.get(_detail(incident_a)).status_code == 404


def test_colleague_sees_incidents_only_when_the_organisation_shares_them(
    client, org_a, customer_a, colleague_a, incident_a
):
    client.force_login(colleague_a)

    assert client.get(_detail(incident_a)).status_code == 404
    assert incident_a.number not in client.get(reverse("portal:my_tickets")).content.decode()

    org_a.shares_tickets = True
    org_a.save(update_fields=["shares_tickets"])

    assert client.get(_detail(incident_a)).status_code == 200
    listing = client.get(reverse("portal:my_tickets")).content.decode()
    assert incident_a.number in listing
    assert f"Raised by {customer_a}" in listing
    mine = client.get(reverse("portal:my_tickets"), {"mine": "1"}).content.decode()
    assert incident_a.number not in mine


def test_only_the_caller_answers_the_resolution_of_a_shared_incident(
    client, org_a, customer_a, colleague_a, incident_a, agent, desk
):
    org_a.shares_tickets = True
    org_a.save(update_fields=["shares_tickets"])
    _resolved(incident_a, agent, desk)
    client.force_login(colleague_a)

    page = client.get(_detail(incident_a)).content.decode()
    answers = [
        client.post(reverse("portal:incident_confirm", args=[incident_a.pk])),
        client.post(reverse("portal:incident_reject", args=[incident_a.pk]), {"reason": "No"}),
        client.post(reverse("portal:incident_rate", args=[incident_a.pk]), {"score": "1"}),
    ]

    assert "Replaced the fuser unit." in page
    assert f"{customer_a}, who raised it, is asked to confirm the solution." in page
    confirm_url = reverse("portal:incident_confirm", args=[incident_a.pk])
    assert confirm_url not in page and 'id="rating"' not in page
    # Refused on the page as it is, with the reason on top (the portal's way).
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert all("This incident is not yours." in a.content.decode() for a in answers)
    incident_a.refresh_from_db()
    assert (incident_a.status, incident_a.reopen_count) == (IncidentStatus.RESOLVED, 0)
    assert not SatisfactionRating.objects.exists()
    client.force_login(customer_a)
    assert confirm_url in client.get(_detail(incident_a)).content.decode()


def test_work_notes_never_appear_on_the_portal_page(client, customer_a, agent, incident_a):
    incident_comment(
        actor=agent,
        incident=incident_a,
        body="Internal: caller is a VIP, printer vendor contract expired",
        visibility=CommentVisibility.WORK_NOTE,
    )
    incident_comment(actor=agent, incident=incident_a, body="We are looking into it.")
    client.force_login(customer_a)

    html = client.get(_detail(incident_a)).content.decode()

    assert "printer vendor contract expired" not in html
    assert "We are looking into it." in html


def test_agent_names_are_not_shown_to_customers(client, customer_a, agent, desk, incident_a):
    _in_progress(incident_a, agent, desk)
    incident_comment(actor=agent, incident=incident_a, body="On it.")
    client.force_login(customer_a)

    html = client.get(_detail(incident_a)).content.decode()

    assert agent.last_name not in html
    assert "Service desk" in html
    assert "Being worked on" in html


def test_raise_with_service_and_files(client, customer_a, shop):
    client.force_login(customer_a)

    response = client.post(
        reverse("portal:raise_ticket"),
        {
            "service": shop.pk,
            "title": "Checkout fails",
            "description": "Error 500 on payment",
            "impact": "1",
            "urgency": "1",
            "files": [
                SimpleUploadedFile("error.txt", b"stack trace"),
                SimpleUploadedFile("screen.png", b"\x89PNG fake"),
            ],
        },
    )

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _detail(incident)
    assert incident.caller == customer_a
    assert incident.organisation == customer_a.organisation
    assert incident.channel == Channel.PORTAL
    assert incident.service == shop
    assert (incident.impact, incident.urgency, incident.priority) == (1, 1, 1)
    assert sorted(incident.attachments.values_list("name", flat=True)) == [
        "error.txt",
        "screen.png",
    ]
    page = client.get(response["Location"]).content.decode()
    assert incident.number in page
    assert "error.txt" in page


def test_raise_with_category_and_subcategory(client, customer_a):
    hardware = category("Hardware")
    sub = hardware.children.first()
    client.force_login(customer_a)

    options = client.get(reverse("portal:subcategory_options"), {"category": hardware.pk})
    response = client.post(
        reverse("portal:raise_ticket"),
        {
            "category": hardware.pk,
            "subcategory": sub.pk,
            "title": "Laptop does not boot",
            "description": "Black screen",
            "impact": "3",
            "urgency": "2",
        },
    )

    assert sub.name in options.content.decode()
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert (incident.category, incident.subcategory) == (hardware, sub)


def test_raise_without_service_or_category_is_refused(client, customer_a):
    client.force_login(customer_a)

    response = client.post(
        reverse("portal:raise_ticket"),
        {"title": "Help", "description": "x", "impact": "3", "urgency": "2"},
    )

    assert response.status_code == 200
    assert "Choose the service that is affected" in response.content.decode()
    assert not Incident.objects.exists()


def test_raise_with_a_refused_file_type_shows_a_form_error_and_creates_nothing(client, customer_a):
    client.force_login(customer_a)

    response = client.post(
        reverse("portal:raise_ticket"),
        {
            "category": category("Hardware").pk,
            "title": "Virus?",
            "description": "Got this file",
            "impact": "3",
            "urgency": "2",
            "files": [
                SimpleUploadedFile("notes.txt", b"ok"),
                SimpleUploadedFile("tool.exe", b"MZ"),
            ],
        },
    )

    assert response.status_code == 200
    assert "are not accepted" in response.content.decode()
    assert not Incident.objects.exists()
    assert not Attachment.objects.exists()


def test_raise_with_a_too_large_file_shows_a_form_error(client, customer_a, settings):
    settings.ITSM_ATTACHMENT_MAX_BYTES = 10
    client.force_login(customer_a)

    response = client.post(
        reverse("portal:raise_ticket"),
        {
            "category": category("Hardware").pk,
            "title": "Big log",
            "description": "See log",
            "impact": "3",
            "urgency": "2",
            "files": SimpleUploadedFile("big.log", b"x" * 100),
        },
    )

    assert response.status_code == 200
    assert "The file is too large" in response.content.decode()
    assert not Incident.objects.exists()


def test_customer_cannot_pick_another_organisations_service(client, customer_b, shop):
    client.force_login(customer_b)

    response = client.post(
        reverse("portal:raise_ticket"),
        {"service": shop.pk, "title": "x", "description": "y", "impact": "3", "urgency": "2"},
    )

    assert response.status_code == 200
    assert not Incident.objects.exists()


def test_reply_on_an_incident_awaiting_the_customer_resumes_work(
    client, customer_a, agent, desk, incident_a
):
    _in_progress(incident_a, agent, desk)
    incident_pend(actor=agent, incident=incident_a, reason=PendingReason.AWAITING_CUSTOMER)
    client.force_login(customer_a)
    assert "Waiting for your reply" in client.get(_detail(incident_a)).content.decode()

    response = client.post(
        reverse("portal:incident_reply", args=[incident_a.pk]), {"body": "It is model X200."}
    )

    assert response.status_code == 302
    incident_a.refresh_from_db()
    assert incident_a.status == IncidentStatus.IN_PROGRESS
    comment = Comment.objects.get()
    assert (comment.body, comment.visibility) == ("It is model X200.", CommentVisibility.PUBLIC)


def test_empty_reply_is_a_form_error(client, customer_a, incident_a):
    client.force_login(customer_a)

    response = client.post(reverse("portal:incident_reply", args=[incident_a.pk]), {"body": " "})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Comment.objects.exists()


def test_reply_on_a_closed_incident_is_refused_with_a_message(
    client, customer_a, agent, desk, incident_a
):
    _resolved(incident_a, agent, desk)
    client.force_login(customer_a)
    client.post(reverse("portal:incident_confirm", args=[incident_a.pk]))

    response = client.post(
        reverse("portal:incident_reply", args=[incident_a.pk]), {"body": "one more thing"}
    )

    assert response.status_code == 200
    assert "This incident is closed; raise a new one." in response.content.decode()
    assert not Comment.objects.filter(body="one more thing").exists()


def test_customer_attaches_files(client, customer_a, incident_a):
    client.force_login(customer_a)

    response = client.post(
        reverse("portal:incident_attach", args=[incident_a.pk]),
        {"files": [SimpleUploadedFile("a.txt", b"a"), SimpleUploadedFile("b.log", b"b")]},
    )

    assert response.status_code == 302
    assert sorted(incident_a.attachments.values_list("name", flat=True)) == ["a.txt", "b.log"]


def test_attaching_a_refused_file_is_a_form_error(client, customer_a, incident_a):
    client.force_login(customer_a)

    response = client.post(
        reverse("portal:incident_attach", args=[incident_a.pk]),
        {"files": [SimpleUploadedFile("a.txt", b"a"), SimpleUploadedFile("b.bat", b"b")]},
    )

    assert response.status_code == 200
    assert "are not accepted" in response.content.decode()
    assert not Attachment.objects.exists()


def test_reject_then_confirm_and_rate_a_resolution(client, customer_a, agent, desk, incident_a):
    _resolved(incident_a, agent, desk, notes="Cleaned the **rollers**.")
    client.force_login(customer_a)
    page = client.get(_detail(incident_a)).content.decode()
    assert "<strong>rollers</strong>" in page
    assert "Yes, it&#x27;s fixed" in page or "Yes, it's fixed" in page

    missing_reason = client.post(reverse("portal:incident_reject", args=[incident_a.pk]), {})
    rejected = client.post(
        reverse("portal:incident_reject", args=[incident_a.pk]), {"reason": "Still jams"}
    )

    assert missing_reason.status_code == 200
    assert "This field is required." in missing_reason.content.decode()
    assert rejected.status_code == 302
    incident_a.refresh_from_db()
    assert (incident_a.status, incident_a.reopen_count) == (IncidentStatus.IN_PROGRESS, 1)

    _resolved(incident_a, agent, desk, notes="New rollers fitted.")
    confirmed = client.post(reverse("portal:incident_confirm", args=[incident_a.pk]))
    rated = client.post(
        reverse("portal:incident_rate", args=[incident_a.pk]),
        {"score": "5", "comment": "Quick and friendly"},
    )
    changed = client.post(
        reverse("portal:incident_rate", args=[incident_a.pk]), {"score": "4", "comment": ""}
    )

    assert (confirmed.status_code, rated.status_code, changed.status_code) == (302, 302, 302)
    incident_a.refresh_from_db()
    assert incident_a.status == IncidentStatus.CLOSED
    rating = SatisfactionRating.objects.get()
    assert (rating.score, rating.comment, rating.rated_by) == (4, "", customer_a)
    page = client.get(_detail(incident_a)).content.decode()
    assert "You rated this 4 out of 5." in page
    assert "Still jams" in page


def test_confirming_an_open_incident_is_refused_with_a_message(client, customer_a, incident_a):
    client.force_login(customer_a)

    response = client.post(reverse("portal:incident_confirm", args=[incident_a.pk]))

    assert response.status_code == 200
    assert "Only a resolved incident can be confirmed." in response.content.decode()
    incident_a.refresh_from_db()
    assert incident_a.status == IncidentStatus.NEW


def test_rating_an_open_incident_or_out_of_range_is_a_form_error(client, customer_a, incident_a):
    client.force_login(customer_a)

    not_resolved = client.post(
        reverse("portal:incident_rate", args=[incident_a.pk]), {"score": "5"}
    )
    out_of_range = client.post(
        reverse("portal:incident_rate", args=[incident_a.pk]), {"score": "9"}
    )

    assert not_resolved.status_code == 200
    assert "Only a resolved or closed incident can be rated." in not_resolved.content.decode()
    assert out_of_range.status_code == 200
    assert not SatisfactionRating.objects.exists()


def test_my_tickets_tabs_and_search(client, customer_a, agent, desk):
    printer = incident_create(actor=customer_a, title="Printer jams")
    vpn = incident_create(actor=customer_a, title="VPN drops")
    _resolved(vpn, agent, desk)
    client.force_login(customer_a)
    url = reverse("portal:my_tickets")

    open_tab = client.get(url).content.decode()
    resolved_tab = client.get(url, {"tab": "resolved"}).content.decode()
    closed_tab = client.get(url, {"tab": "closed"}).content.decode()
    search = client.get(url, {"tab": "open", "q": "print"}).content.decode()
    by_number = client.get(url, {"tab": "resolved", "q": vpn.number}).content.decode()
    no_match = client.get(url, {"q": "zzz"}).content.decode()

    assert printer.number in open_tab and vpn.number not in open_tab
    assert vpn.number in resolved_tab and printer.number not in resolved_tab
    assert printer.number not in closed_tab and vpn.number not in closed_tab
    assert printer.number in search
    assert vpn.number in by_number
    assert "No tickets match your search" in no_match


def test_my_tickets_paginates(client, customer_a, django_assert_max_num_queries):
    for n in range(25):
        incident_create(actor=customer_a, title=f"Issue {n:02d}")
    client.force_login(customer_a)

    with django_assert_max_num_queries(12):
        first = client.get(reverse("portal:my_tickets"))
    second = client.get(reverse("portal:my_tickets"), {"page": "2"})

    assert "Issue 24" in first.content.decode()
    assert "Page 1 of 2" in first.content.decode()
    assert "Issue 00" in second.content.decode()


def test_home_shows_counts_and_latest(client, customer_a, agent, desk):
    waiting = incident_create(actor=customer_a, title="Need your input")
    _in_progress(waiting, agent, desk)
    incident_pend(actor=agent, incident=waiting, reason=PendingReason.AWAITING_CUSTOMER)
    _resolved(incident_create(actor=customer_a, title="Solved one"), agent, desk)
    incident_create(actor=customer_a, title="Fresh one")
    client.force_login(customer_a)

    response = client.get(reverse("portal:home"))

    assert response.context["counts"] == {
        "open": 2,
        "awaiting_reply": 1,
        "resolved": 1,
        "closed": 0,
    }
    html = response.content.decode()
    assert "Need your input" in html and "Fresh one" in html and "Solved one" in html


def test_incident_page_query_count_does_not_grow_with_history(
    client, customer_a, agent, desk, incident_a, django_assert_max_num_queries
):
    _in_progress(incident_a, agent, desk)
    for n in range(10):
        incident_comment(actor=agent, incident=incident_a, body=f"Update {n}")
        incident_comment(actor=customer_a, incident=incident_a, body=f"Answer {n}")
    client.force_login(customer_a)

    with django_assert_max_num_queries(14):
        response = client.get(_detail(incident_a))

    assert response.status_code == 200
    assert "Answer 9" in response.content.decode()


def test_attaching_without_a_file_is_a_form_error(client, customer_a, incident_a):
    client.force_login(customer_a)

    response = client.post(reverse("portal:incident_attach", args=[incident_a.pk]), {})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
