import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from core.choices import CommentVisibility, EventType
from core.selectors import ticket_timeline
from core.services import attachment_add, comment_add, event_record
from tests.core.factories import DemoTicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket_files(org_a, agent, customer_a):
    ticket = DemoTicketFactory(organisation=org_a)
    public = attachment_add(
        ticket=ticket,
        actor=customer_a,
        uploaded_file=SimpleUploadedFile("页面 screenshot.png", b"\x89PNG...", "image/png"),
    )
    note = comment_add(
        ticket=ticket, actor=agent, body="see trace", visibility=CommentVisibility.WORK_NOTE
    )
    private = attachment_add(
        ticket=ticket,
        actor=agent,
        uploaded_file=SimpleUploadedFile("trace.txt", b"t"),
        comment=note,
    )
    return ticket, public, private


def test_download_is_an_attachment_with_the_stored_name(client, agent, ticket_files):
    _ticket, public, _private = ticket_files
    client.force_login(agent)

    response = client.get(reverse("core:attachment_download", args=[public.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E9%A1%B5%E9%9D%A2%20screenshot.png" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == b"\x89PNG..."


@pytest.mark.parametrize(
    ("user", "which", "status"),
    [
        ("customer_a", "public", 200),
        ("customer_a", "private", 404),
        ("customer_b", "public", 404),
        ("agent", "private", 200),
    ],
)
def test_download_respects_visibility(client, request, ticket_files, user, which, status):
    _ticket, public, private = ticket_files
    client.force_login(request.getfixturevalue(user))

    attachment = public if which == "public" else private
    response = client.get(reverse("core:attachment_download", args=[attachment.pk]))

    assert response.status_code == status


def test_anonymous_download_goes_to_login(client, ticket_files):
    _ticket, public, _private = ticket_files

    response = client.get(reverse("core:attachment_download", args=[public.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_timeline_partial_renders_sanitised_comments_and_hides_notes(
    org_a, agent, customer_a, ticket_files
):
    ticket, _public, _private = ticket_files
    comment_add(ticket=ticket, actor=customer_a, body="**Still** broken <script>x()</script>")
    event_record(
        ticket=ticket,
        event_type=EventType.STATUS_CHANGED,
        actor=agent,
        data={"from": "open", "to": "closed"},
    )
    request = RequestFactory().get("/")

    as_customer = render_to_string(
        "core/partials/timeline.html",
        {"timeline": ticket_timeline(ticket=ticket, user=customer_a)},
        request=request,
    )
    as_agent = render_to_string(
        "core/partials/timeline.html",
        {"timeline": ticket_timeline(ticket=ticket, user=agent)},
        request=request,
    )

    assert "<strong>Still</strong> broken" in as_customer
    assert "<script>" not in as_customer
    assert "see trace" not in as_customer
    assert "trace.txt" not in as_customer
    assert "页面 screenshot.png" in as_customer
    assert "see trace" in as_agent
    assert "trace.txt" in as_agent
    assert "<strong>open</strong>" in as_agent
