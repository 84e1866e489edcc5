"""pghistory's context on prepared statements (core/db.py): set before writes to tables
with row triggers, and only there."""

import pghistory
import pytest
from django.db import connection, transaction

from accounts.models import OrganisationEvent
from core.db import SET_CONTEXT_SQL, _needs_context
from core.outbox import outbox_enqueue


@pytest.fixture
def context_statements(monkeypatch):
    """The statements the raw cursor runs, so the set_config ones can be counted."""
    seen = []
    cursor_class = type(connection.cursor().cursor)
    original = cursor_class.execute

    def spy(self, query, *args, **kwargs):
        seen.append(query)
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(cursor_class, "execute", spy)
    return lambda: sum(1 for query in seen if query == SET_CONTEXT_SQL)


def _outbox_write() -> None:
    with transaction.atomic():
        outbox_enqueue(topic="test.topic", payload={}, dedup_key="test-context")


@pytest.mark.django_db(transaction=True)
def test_a_tracked_write_gets_the_context_and_an_untracked_one_does_not(org_a, context_statements):
    with pghistory.context(user=7, url="/test/"):
        _outbox_write()
        untracked = context_statements()
        org_a.name = "Acme Holdings"
        org_a.save()
        tracked = context_statements() - untracked

    assert (untracked, tracked) == (0, 1)
    event = OrganisationEvent.objects.filter(pgh_obj=org_a, pgh_label="update").get()
    assert event.pgh_context.metadata == {"user": 7, "url": "/test/"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sql", "needed"),
    [
        ('INSERT INTO "core_outboxmessage" ("topic") VALUES (%s)', False),
        ('UPDATE "sla_clock" SET "state" = %s WHERE "id" = %s', False),
        ('INSERT INTO "accounts_organisation" ("name") VALUES (%s)', True),
        ('UPDATE "accounts_user" SET "email" = %s', True),
        ('DELETE FROM "config_items_relationship" WHERE "id" = %s', True),
        ("WITH x AS (UPDATE sla_clock SET state = 'met') SELECT 1", True),
        ('SELECT "id" FROM "accounts_organisation"', False),
    ],
)
def test_which_statements_need_the_context(sql, needed):
    with connection.cursor() as cursor:
        assert _needs_context(cursor.cursor, sql) is needed
