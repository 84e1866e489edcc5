"""core.postgresql: the health check of a persistent connection (CONN_HEALTH_CHECKS) needs
no round trip while the connection is quiet, and still finds one the server ended."""

import time

import psycopg
import pytest
from django.db import connection, connections
from django.db.backends.postgresql import base as django_postgresql

pytestmark = pytest.mark.django_db(transaction=True)  # an idle connection, no test transaction


@pytest.fixture
def full_checks(monkeypatch):
    """How often the check fell back to Django's `SELECT 1`."""
    calls = []
    original = django_postgresql.DatabaseWrapper.is_usable

    def counted(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", counted)
    return calls


def test_the_backend_is_in_use():
    assert type(connections["default"]).__module__ == "core.postgresql.base"


def test_a_quiet_idle_connection_is_usable_without_a_query(full_checks):
    connection.ensure_connection()

    assert connection.is_usable()
    assert full_checks == []


def test_a_connection_the_server_ended_is_found_unusable(full_checks):
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.2)  # the termination notice reaches the socket

    try:
        assert not connection.is_usable()
        assert full_checks == [1]
    finally:
        connection.close()


def test_the_next_request_gets_a_new_connection_after_the_server_ended_it():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.2)
    connection.health_check_done = False  # what request_started does for each request

    connection.close_if_health_check_failed()

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
