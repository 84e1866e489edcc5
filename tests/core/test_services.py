import hashlib
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test.utils import CaptureQueriesContext

from core.choices import CommentVisibility, EventType
from core.exceptions import DomainError
from core.models import Attachment, Comment, NumberCounter, TicketEvent
from core.services import (
    attachment_add,
    comment_add,
    event_record,
    ticket_changes_record,
    ticket_insert,
    ticket_number_next,
)
from tests.core.factories import DemoTicketFactory

pytestmark = pytest.mark.django_db


def test_ticket_numbers_are_sequential_per_prefix():
    with transaction.atomic():
        numbers = [ticket_number_next(prefix="INC") for _ in range(3)]
        other = ticket_number_next(prefix="CHG")

    assert numbers == ["INC0000001", "INC0000002", "INC0000003"]
    assert other == "CHG0000001"
    assert NumberCounter.objects.get(prefix="INC").last_value == 3


@pytest.mark.django_db(transaction=True)
def test_ticket_number_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        ticket_number_next(prefix="INC")


def test_rolled_back_create_gives_its_number_back():
    with transaction.atomic():
        ticket_number_next(prefix="INC")
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        ticket_number_next(prefix="INC")
        1 / 0  # noqa: B018

    with transaction.atomic():
        assert ticket_number_next(prefix="INC") == "INC0000002"


def test_ticket_insert_numbers_and_writes_the_row_in_one_statement():
    ticket = DemoTicketFactory.build(number="", title="Scanner offline")
    with transaction.atomic():
        ticket_number_next(prefix="DEM")
        with CaptureQueriesContext(connection) as queries:
            ticket_insert(ticket)

    assert len(queries) == 1
    assert ticket.number == "DEM0000002"
    stored = type(ticket).objects.get(pk=ticket.pk)
    assert (stored.number, stored.title) == ("DEM0000002", "Scanner offline")
    assert not ticket._state.adding


def test_ticket_insert_formats_numbers_as_ticket_number_next_does():
    NumberCounter.objects.create(prefix="DEM", last_value=9_999_999)
    with transaction.atomic():
        ticket = DemoTicketFactory.build(number="")
        ticket_insert(ticket)
        after = ticket_number_next(prefix="DEM")

    assert (ticket.number, after) == ("DEM10000000", "DEM10000001")


def test_a_rolled_back_ticket_insert_gives_its_number_back():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        ticket_insert(DemoTicketFactory.build(number=""))
        1 / 0  # noqa: B018

    with transaction.atomic():
        assert ticket_number_next(prefix="DEM") == "DEM0000001"


@pytest.mark.django_db(transaction=True)
def test_ticket_insert_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        ticket_insert(DemoTicketFactory.build(number=""))


@pytest.mark.django_db(transaction=True)
def test_concurrent_allocations_never_share_a_number():
    results, errors = [], []

    def allocate():
        try:
            for _ in range(20):
                with transaction.atomic():
                    results.append(ticket_number_next(prefix="RACE"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=allocate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 80
    assert len(set(results)) == 80
    assert max(results) == "RACE0000080"


def test_event_record_stores_actor_type_and_values(agent):
    ticket = DemoTicketFactory()

    event = event_record(
        ticket=ticket,
        event_type=EventType.STATUS_CHANGED,
        actor=agent,
        data={"from": "open", "to": "closed"},
    )

    stored = TicketEvent.objects.get(pk=event.pk)
    assert stored.ticket == ticket
    assert stored.actor == agent
    assert stored.data == {"from": "open", "to": "closed"}
    assert list(ticket.events.values_list("event_type", flat=True)) == ["status_changed"]


def test_ticket_changes_record_writes_one_event_per_changed_field(agent):
    ticket = DemoTicketFactory()

    events = ticket_changes_record(
        ticket=ticket,
        actor=agent,
        old={"priority": 3, "title": "A"},
        new={"priority": 1, "title": "A"},
    )

    assert [e.data for e in events] == [{"field": "priority", "old": 3, "new": 1}]


def test_events_are_append_only_in_the_database(agent):
    ticket = DemoTicketFactory()
    event = event_record(ticket=ticket, event_type=EventType.CREATED, actor=agent)

    # The trigger raises; psycopg reports it as an internal or a programming error.
    with pytest.raises(DatabaseError, match="Cannot update or delete"), transaction.atomic():
        TicketEvent.objects.filter(pk=event.pk).update(event_type="status_changed")
    with pytest.raises(DatabaseError, match="Cannot update or delete"), transaction.atomic():
        TicketEvent.objects.filter(pk=event.pk).delete()

    assert TicketEvent.objects.get(pk=event.pk).event_type == "created"


def test_comment_add_writes_comment_and_event(agent):
    ticket = DemoTicketFactory()

    comment = comment_add(ticket=ticket, actor=agent, body="  Rebooted the spooler.  ")

    assert comment.body == "Rebooted the spooler."
    assert comment.visibility == CommentVisibility.PUBLIC
    event = TicketEvent.objects.get(event_type=EventType.COMMENT_ADDED)
    assert event.data == {"comment_id": comment.pk, "visibility": "public"}


def test_empty_comment_is_refused_and_nothing_written(agent):
    ticket = DemoTicketFactory()

    with pytest.raises(DomainError) as excinfo:
        comment_add(ticket=ticket, actor=agent, body="   ")

    assert excinfo.value.code == "empty_comment"
    assert "body" in excinfo.value.fields
    assert not Comment.objects.exists()
    assert not TicketEvent.objects.exists()


def test_customer_cannot_write_a_work_note(customer_a):
    ticket = DemoTicketFactory(organisation=customer_a.organisation)

    with pytest.raises(DomainError) as excinfo:
        comment_add(
            ticket=ticket, actor=customer_a, body="x", visibility=CommentVisibility.WORK_NOTE
        )

    assert excinfo.value.code == "work_note_forbidden"
    assert not Comment.objects.exists()


def test_attachment_add_stores_file_with_safe_name_and_hash(agent):
    ticket = DemoTicketFactory()
    upload = SimpleUploadedFile("../../etc/error log.txt", b"disk full\n", "application/x-evil")

    attachment = attachment_add(ticket=ticket, actor=agent, uploaded_file=upload)

    assert attachment.name == "error log.txt"
    assert attachment.mime_type == "text/plain"
    assert attachment.size == 10
    assert attachment.sha256 == hashlib.sha256(b"disk full\n").hexdigest()
    assert ".." not in attachment.file.name
    assert attachment.file.read() == b"disk full\n"
    assert TicketEvent.objects.get(event_type=EventType.ATTACHMENT_ADDED).data["name"] == (
        "error log.txt"
    )


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("malware.exe", "file_type_refused"),
        ("noextension", "file_type_refused"),
        (".htaccess", "invalid_file_name"),
    ],
)
def test_attachment_of_refused_type_is_rejected(agent, name, code):
    ticket = DemoTicketFactory()

    with pytest.raises(DomainError) as excinfo:
        attachment_add(ticket=ticket, actor=agent, uploaded_file=SimpleUploadedFile(name, b"MZ"))

    assert excinfo.value.code == code
    assert not Attachment.objects.exists()


def test_attachment_over_the_size_limit_is_rejected(agent, settings):
    settings.ITSM_ATTACHMENT_MAX_BYTES = 1024
    ticket = DemoTicketFactory()

    with pytest.raises(DomainError) as excinfo:
        attachment_add(
            ticket=ticket, actor=agent, uploaded_file=SimpleUploadedFile("big.txt", b"x" * 1025)
        )

    assert excinfo.value.code == "file_too_large"
    assert not Attachment.objects.exists()
    assert not TicketEvent.objects.exists()


def test_attachment_of_a_work_note_is_hidden_from_customers(agent):
    ticket = DemoTicketFactory()
    note = comment_add(
        ticket=ticket, actor=agent, body="internal", visibility=CommentVisibility.WORK_NOTE
    )

    attachment = attachment_add(
        ticket=ticket,
        actor=agent,
        uploaded_file=SimpleUploadedFile("trace.log", b"..."),
        comment=note,
    )

    assert attachment.is_public is False
