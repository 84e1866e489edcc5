import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from config_items.models import ConfigurationItem, ImportJob, Relationship
from tests.config_items.factories import (
    ConfigurationItemFactory,
    RelationshipFactory,
    ci_class,
    rel_type,
)

pytestmark = pytest.mark.django_db

CIS = "/api/v1/cmdb/cis/"


@pytest.fixture
def estate(org_a, org_b):
    """A server, an app on it, a business service of org A on the app, a service of org B."""
    server = ConfigurationItemFactory(
        name="web-01", ci_class=ci_class("server"), attributes={"os": "Linux", "ram_gb": 32}
    )
    app = ConfigurationItemFactory(name="shop-app")
    shop = ConfigurationItemFactory(name="Online shop", ci_class=ci_class("business_service"))
    payroll = ConfigurationItemFactory(name="Payroll", ci_class=ci_class("business_service"))
    shop.organisations.set([org_a])
    payroll.organisations.set([org_b])
    RelationshipFactory(source=app, target=server, type=rel_type("runs_on"))
    RelationshipFactory(source=shop, target=app, type=rel_type("depends_on"))
    return {"server": server, "app": app, "shop": shop, "payroll": payroll}


def test_agent_lists_and_filters_by_class_including_subclasses_and_attribute(
    api_client, agent, estate
):
    vm = ConfigurationItemFactory(
        name="vm-07", ci_class=ci_class("virtual_machine"), attributes={"os": "Linux"}
    )
    ConfigurationItemFactory(
        name="win-01", ci_class=ci_class("server"), attributes={"os": "Windows"}
    )
    api_client.force_authenticate(agent)

    response = api_client.get(CIS, {"ci_class": "server", "attr.os": "Linux"})

    assert response.status_code == 200
    assert sorted(r["name"] for r in response.json()["results"]) == [vm.name, "web-01"]


def test_numeric_attribute_filter(api_client, agent, estate):
    api_client.force_authenticate(agent)

    response = api_client.get(CIS, {"attr.ram_gb": "32"})

    assert [r["name"] for r in response.json()["results"]] == ["web-01"]


def test_customer_sees_only_their_organisations_services_read_only(api_client, customer_a, estate):
    api_client.force_authenticate(customer_a)

    listing = api_client.get(CIS)
    other = api_client.get(f"{CIS}{estate['payroll'].pk}/")
    server = api_client.get(f"{CIS}{estate['server'].pk}/")
    create = api_client.post(CIS, {"name": "x", "ci_class": "server"}, format="json")

    assert [r["name"] for r in listing.json()["results"]] == ["Online shop"]
    assert other.status_code == 404
    assert server.status_code == 404
    assert create.status_code == 403
    assert create.json()["code"] == "permission_denied"


def test_anonymous_is_refused(api_client, estate):
    assert api_client.get(CIS).status_code in (401, 403)


def test_create_with_invalid_attribute_gives_field_errors_and_writes_nothing(api_client, agent):
    api_client.force_authenticate(agent)

    response = api_client.post(
        CIS,
        {"name": "db-9", "ci_class": "database", "attributes": {"size_gb": "big"}},
        format="json",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"attributes.engine", "attributes.size_gb"}
    assert not ConfigurationItem.objects.exists()


def test_create_and_update(api_client, agent):
    api_client.force_authenticate(agent)

    created = api_client.post(
        CIS,
        {"name": "db-9", "ci_class": "database", "attributes": {"engine": "PostgreSQL"}},
        format="json",
    )
    pk = created.json()["id"]
    updated = api_client.patch(f"{CIS}{pk}/", {"attributes": {"version": "16"}}, format="json")

    assert created.status_code == 201
    assert updated.status_code == 200
    assert updated.json()["attributes"] == {"engine": "PostgreSQL", "version": "16"}


def test_transition_needs_permission_and_a_legal_state(api_client, agent, manager, estate):
    url = f"{CIS}{estate['app'].pk}/retire/"
    api_client.force_authenticate(agent)
    denied = api_client.post(url)
    api_client.force_authenticate(manager)
    done = api_client.post(url)
    again = api_client.post(url)

    assert denied.status_code == 403
    assert done.status_code == 200
    assert done.json()["status"] == "retired"
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"


def test_impact_endpoint_lists_affected_cis_services_and_organisations(
    api_client, agent, estate, org_a
):
    api_client.force_authenticate(agent)

    response = api_client.get(f"{CIS}{estate['server'].pk}/impact/", {"depth": 6})

    body = response.json()
    assert response.status_code == 200
    assert [(i["ci"]["name"], i["distance"]) for i in body["items"]] == [
        ("shop-app", 1),
        ("Online shop", 2),
    ]
    assert [s["name"] for s in body["affected_services"]] == ["Online shop"]
    assert body["affected_organisations"] == [org_a.code]


def test_impact_rejects_a_bad_depth(api_client, agent, estate):
    api_client.force_authenticate(agent)

    response = api_client.get(f"{CIS}{estate['server'].pk}/impact/", {"depth": 99})

    assert response.status_code == 400
    assert "depth" in response.json()["fields"]


def test_relationships_create_duplicate_and_delete(api_client, agent, estate):
    api_client.force_authenticate(agent)
    payload = {"source": estate["app"].pk, "target": estate["server"].pk, "type": "depends_on"}

    created = api_client.post("/api/v1/cmdb/relationships/", payload, format="json")
    duplicate = api_client.post("/api/v1/cmdb/relationships/", payload, format="json")
    deleted = api_client.delete(f"/api/v1/cmdb/relationships/{created.json()['id']}/")

    assert created.status_code == 201
    assert duplicate.status_code == 400
    assert deleted.status_code == 204
    assert Relationship.objects.count() == 2


def test_import_endpoint_creates_a_job(api_client, manager, agent):
    upload = SimpleUploadedFile("s.csv", b"name,os\nweb-5,Linux\n", content_type="text/csv")
    api_client.force_authenticate(agent)
    denied = api_client.post(
        "/api/v1/cmdb/imports/", {"file": upload, "ci_class": "server"}, format="multipart"
    )
    upload.seek(0)
    api_client.force_authenticate(manager)

    response = api_client.post(
        "/api/v1/cmdb/imports/",
        {"file": upload, "ci_class": "server", "dry_run": "false"},
        format="multipart",
    )

    assert denied.status_code == 403
    assert response.status_code == 202
    job = ImportJob.objects.get()
    assert job.mapping == {"name": "name", "os": "attributes.os"}
    assert job.is_dry_run is False


def test_export_streams_the_filtered_list_as_csv(api_client, agent, estate):
    api_client.force_authenticate(agent)

    response = api_client.get(f"{CIS}export/", {"ci_class": "business_service"})

    text = b"".join(response.streaming_content).decode()
    lines = text.strip().splitlines()
    assert response["Content-Type"].startswith("text/csv")
    assert len(lines) == 3
    assert lines[0].startswith("id,name,ci_class")


def test_list_query_count_does_not_grow_with_rows(
    api_client, agent, estate, django_assert_max_num_queries
):
    for i in range(30):
        ConfigurationItemFactory(name=f"extra-{i}")
    api_client.force_authenticate(agent)

    with django_assert_max_num_queries(8):
        response = api_client.get(CIS, {"page_size": 50})

    assert len(response.json()["results"]) == 34
