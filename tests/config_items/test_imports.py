import json

import pytest

from accounts.models import SupportGroup
from config_items.choices import ImportStatus
from config_items.imports import import_job_create, import_job_run
from config_items.models import ConfigurationItem, Relationship
from core.exceptions import DomainError
from tests.config_items.factories import ConfigurationItemFactory, ci_class

pytestmark = pytest.mark.django_db

SERVERS_CSV = (
    "Name,OS,RAM (GB),ip_address,environment,support_group,rel:runs_on\n"
    "web-01,Linux,32,10.0.0.11,production,Network Operations,\n"
    "web-02,Linux,16,10.0.0.12,test,,\n"
    "bad-01,BeOS,lots,,production,,\n"
)


def _run(actor, content, *, dry_run, code="server", name="servers.csv", **kwargs):
    job = import_job_create(
        actor=actor,
        ci_class=ci_class(code),
        file_name=name,
        content=content.encode(),
        is_dry_run=dry_run,
        **kwargs,
    )
    return import_job_run(job_id=job.pk)


@pytest.fixture
def mapping(db):
    SupportGroup.objects.create(name="Network Operations")
    return {
        "Name": "name",
        "OS": "attributes.os",
        "RAM (GB)": "attributes.ram_gb",
        "ip_address": "attributes.ip_address",
        "environment": "environment",
        "support_group": "support_group",
    }


def test_dry_run_reports_per_row_errors_and_writes_nothing(manager, mapping):
    job = _run(manager, SERVERS_CSV, dry_run=True, mapping=mapping)

    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.updated_count, job.error_count) == (2, 0, 1)
    assert {(e["row"], e["field"]) for e in job.errors} == {
        (3, "attributes.os"),
        (3, "attributes.ram_gb"),
    }
    assert not ConfigurationItem.objects.exists()


def test_apply_creates_valid_rows_and_second_run_is_idempotent(manager, mapping):
    first = _run(manager, SERVERS_CSV, dry_run=False, mapping=mapping)
    second = _run(manager, SERVERS_CSV, dry_run=False, mapping=mapping)

    assert (first.created_count, first.error_count) == (2, 1)
    web = ConfigurationItem.objects.get(name="web-01")
    assert web.attributes == {"os": "Linux", "ram_gb": 32, "ip_address": "10.0.0.11"}
    assert (second.created_count, second.updated_count, second.unchanged_count) == (0, 0, 2)
    assert ConfigurationItem.objects.count() == 2


def test_changed_rows_are_updated_by_key(manager, mapping):
    _run(manager, SERVERS_CSV, dry_run=False, mapping=mapping)
    changed = SERVERS_CSV.replace("web-02,Linux,16", "WEB-02,Linux,64")

    job = _run(manager, changed, dry_run=False, mapping=mapping)

    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 1, 1)
    assert ConfigurationItem.objects.get(name="WEB-02").attributes["ram_gb"] == 64


def test_match_by_serial_number(manager):
    ConfigurationItemFactory(name="old-name", ci_class=ci_class("server"), serial_number="SN9")
    content = "name,serial_number\nnew-name,SN9\n"

    job = _run(
        manager,
        content,
        dry_run=False,
        key_field="serial_number",
        mapping={"name": "name", "serial_number": "serial_number"},
    )

    assert (job.created_count, job.updated_count) == (0, 1)
    assert ConfigurationItem.objects.get(serial_number="SN9").name == "new-name"


def test_relationships_by_name_including_rows_of_the_same_file(manager):
    content = json.dumps(
        [
            {"name": "crm", "rel:runs_on": "vm-1"},
            {"name": "billing", "rel:runs_on": "vm-1;nowhere"},
        ]
    )
    ConfigurationItemFactory(name="vm-1", ci_class=ci_class("virtual_machine"))

    dry = _run(manager, content, dry_run=True, code="application", name="apps.json")
    job = _run(manager, content, dry_run=False, code="application", name="apps.json")

    assert dry.relationship_count == 2
    assert job.relationship_count == 2
    assert job.errors == [
        {"row": 2, "field": "rel:runs_on", "message": "No CI is named “nowhere”."}
    ]
    assert Relationship.objects.filter(type__code="runs_on", target__name="vm-1").count() == 2


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("cis.xlsx", "x", "import_file_type"),
        ("cis.json", "{not json", "import_json"),
        ("cis.json", '{"a": 1}', "import_json"),
        ("cis.csv", "hostname\nweb\n", "import_mapping"),
    ],
)
def test_unusable_files_are_refused_before_a_job_exists(manager, name, content, code):
    from config_items.models import ImportJob

    with pytest.raises(DomainError) as excinfo:
        _run(manager, content, dry_run=True, name=name)

    assert excinfo.value.code == code
    assert not ImportJob.objects.exists()


def test_a_finished_job_is_not_run_twice(manager, mapping):
    job = _run(manager, SERVERS_CSV, dry_run=False, mapping=mapping)

    again = import_job_run(job_id=job.pk)

    assert again.finished_at == job.finished_at
    assert ConfigurationItem.objects.count() == 2


def test_create_queues_the_task_after_commit(manager, mapping, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        import_job_create(
            actor=manager,
            ci_class=ci_class("server"),
            file_name="s.csv",
            content=SERVERS_CSV.encode(),
            mapping=mapping,
        )

    assert len(callbacks) == 1
