"""core/db.py: pghistory's context on prepared statements (set before writes to tables with
row triggers, and only there), rows_insert and CompiledQuery."""

from unittest.mock import patch

import pghistory
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from accounts.models import OrganisationEvent, User
from core.db import (
    SET_CONTEXT_SQL,
    CompiledQuery,
    _needs_context,
    joins_as_written,
    rows_insert,
)
from core.models import OutboxMessage, TicketEvent
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
        # An append-only guard trigger reads no context.
        ('INSERT INTO "core_ticketevent" ("event_type") VALUES (%s)', False),
        ('INSERT INTO "accounts_organisation" ("name") VALUES (%s)', True),
        ('INSERT INTO public."accounts_organisation" ("name") VALUES (%s)', True),
        ('UPDATE "accounts_user" SET "email" = %s', True),
        ('DELETE FROM "config_items_relationship" WHERE "id" = %s', True),
        ("WITH x AS (UPDATE sla_clock SET state = 'met') SELECT 1", False),
        (
            "WITH x AS (INSERT INTO sla_clock (id) VALUES (1) RETURNING id) "
            "UPDATE accounts_user SET email = '' FROM x",
            True,
        ),
        ("COPY accounts_organisation (name) FROM STDIN", True),
        ('SELECT "id" FROM "accounts_organisation"', False),
    ],
)
def test_which_statements_need_the_context(sql, needed):
    with connection.cursor() as cursor:
        assert _needs_context(cursor.cursor, sql) is needed


@pytest.mark.django_db
def test_rows_insert_writes_the_rows_in_one_statement_and_sets_their_keys(org_a, agent):
    events = [
        TicketEvent(content_type=ContentType.objects.get_for_model(org_a), object_id=org_a.pk,
                    event_type=kind, actor=agent, data={"n": n})
        for n, kind in enumerate(("created", "assigned"))
    ]  # fmt: skip

    with CaptureQueriesContext(connection) as queries:
        rows_insert(events)

    assert len(queries) == 1
    stored = TicketEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("pk")
    assert [(e.event_type, e.data, e.actor_id) for e in stored] == [
        ("created", {"n": 0}, agent.pk),
        ("assigned", {"n": 1}, agent.pk),
    ]
    assert all(e.occurred_at is not None and not e._state.adding for e in events)


@pytest.mark.django_db
def test_rows_insert_can_skip_conflicting_rows():
    OutboxMessage.objects.create(topic="t", payload={}, dedup_key="k")

    rows_insert(
        [OutboxMessage(topic="t", payload={"x": 1}, dedup_key="k")], on_conflict_nothing=True
    )

    assert list(OutboxMessage.objects.values_list("payload", flat=True)) == [{}]


@pytest.mark.django_db(transaction=True)  # SET LOCAL lasts until the real commit
def test_joins_as_written_fixes_the_join_order_for_its_queries_only():
    def limit() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW join_collapse_limit")
            return cursor.fetchone()[0]

    before = limit()
    with joins_as_written():
        inside = limit()

    assert (before, inside, limit()) == ("8", "1", "8")


def _fields(instance) -> dict:
    return {k: v for k, v in instance.__dict__.items() if not k.startswith("_")}


def test_a_compiled_query_builds_the_instances_the_orm_builds_and_its_sql_once(
    org_a, customer_a, agent
):
    def build(pk, organisation_id):
        return (
            User.objects.select_related("organisation")
            .annotate(group_count=Count("groups"))
            .filter(Q(pk=pk) | Q(organisation_id=organisation_id))
            .order_by("pk")
        )

    query = CompiledQuery(build, arity=2)
    with patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql) as sql:
        first = query.list(agent.pk, org_a.pk)
        again = query.list(customer_a.pk, -1)
        missing = query.first(10**9, -1)

    assert sql.call_count == 1  # compiled once; each run only put in its values
    expected = list(build(agent.pk, org_a.pk))
    assert [u.pk for u in first] == [u.pk for u in expected] == [customer_a.pk, agent.pk]
    for got, want in zip(first, expected, strict=True):
        assert _fields(got) == _fields(want)
        assert got.group_count == want.group_count
        assert got._state.adding is False and got._state.db == "default"
    assert _fields(first[0].organisation) == _fields(org_a)
    assert first[1].organisation is None  # a null join gives None, as select_related does
    assert [u.pk for u in again] == [customer_a.pk]
    assert missing is None


def test_a_compiled_query_refuses_what_it_would_get_wrong():
    dropped = CompiledQuery(lambda pk: User.objects.filter(is_active=True))
    values = CompiledQuery(lambda pk: User.objects.filter(pk=pk).values_list("pk"))
    prefetching = CompiledQuery(lambda pk: User.objects.filter(pk=pk).prefetch_related("groups"))

    with pytest.raises(ValueError, match="marker"):
        dropped.list(1)
    for query in (values, prefetching):
        with pytest.raises(ValueError, match="model instances only"):
            query.list(1)
