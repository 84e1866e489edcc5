"""GET /api/v1/sla/attainment/: the dashboard's figures for other tools."""

import pytest
from django.urls import reverse

from tests.sla.test_selectors import desk_create

URL = "/api/v1/sla/attainment/"


@pytest.fixture
def desk(db):
    return desk_create()


def test_the_endpoint_has_its_documented_address():
    assert reverse("api-v1:sla-api:attainment") == URL


def test_attainment_by_organisation(api_client, manager, desk):
    api_client.force_authenticate(manager)

    response = api_client.get(URL, {"group_by": "organisation", "from": "2026-01", "to": "2026-03"})

    assert response.status_code == 200
    assert response.json() == [
        {
            "key": str(desk.acme.pk),
            "label": "Acme Trading",
            "met": 13,
            "breached": 3,
            "total": 16,
            "percent": 81.3,
        },
        {
            "key": str(desk.bluebird.pk),
            "label": "Bluebird Logistics",
            "met": 1,
            "breached": 2,
            "total": 3,
            "percent": 33.3,
        },
        {
            "key": None,
            "label": "No organisation",
            "met": 3,
            "breached": 0,
            "total": 3,
            "percent": 100.0,
        },
    ]


def test_attainment_by_month_with_filters(api_client, agent, desk):
    api_client.force_authenticate(agent)

    response = api_client.get(
        URL,
        {
            "group_by": "month",
            "from": "2026-01",
            "to": "2026-03",
            "service": desk.shop.pk,
            "organisation": desk.acme.pk,
            "group": desk.desk.pk,
            "kind": "sla",
            "metric": "resolution",
        },
    )

    assert [
        (row["key"], row["met"], row["breached"], row["percent"]) for row in response.json()
    ] == [
        ("2026-01", 8, 2, 80.0),
        ("2026-02", 5, 0, 100.0),
    ]


def test_attainment_by_priority_filtered_by_priority(api_client, manager, desk):
    api_client.force_authenticate(manager)

    response = api_client.get(
        URL, {"group_by": "priority", "from": "2026-01", "to": "2026-03", "priority": 3}
    )

    assert response.json() == [
        {"key": "3", "label": "3 - Moderate", "met": 4, "breached": 2, "total": 6, "percent": 66.7}
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13"}, "from"),
        ({"from": "2026-03", "to": "2026-01"}, "from"),
        ({"from": "2020-01", "to": "2026-01"}, "from"),
        ({"group_by": "user"}, "group_by"),
        ({"metric": "availability"}, "metric"),
    ],
)
def test_invalid_queries_are_refused(api_client, manager, db, params, field):
    api_client.force_authenticate(manager)

    response = api_client.get(URL, params)

    assert response.status_code == 400
    assert field in str(response.json())


def test_customers_and_anonymous_are_refused(api_client, customer_a, desk):
    anonymous = api_client.get(URL)
    api_client.force_authenticate(customer_a)
    customer = api_client.get(URL)

    assert anonymous.status_code == 401
    assert customer.status_code == 403


def test_attainment_is_in_the_schema_with_its_parameters(api_client, db):
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"][URL]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names == {
        "group_by",
        "from",
        "to",
        "kind",
        "metric",
        "service",
        "organisation",
        "priority",
        "group",
    }
    assert {"200", "400", "401", "403"} <= set(operation["responses"])
