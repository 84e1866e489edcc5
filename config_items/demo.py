"""Demo CMDB: two data centres, the network, servers and VMs, databases, applications and
the business services customers know, wired together so impact analysis has a story to
tell (a failing host takes down the online shop and the ERP of three organisations).
"""

from django.db import transaction

from accounts.models import Organisation, SupportGroup, User

from .models import CIClass, ConfigurationItem, Relationship, RelationshipType
from .services import ci_create

# name, class, attributes, support group, organisation codes
_CIS = [
    ("London DC1", "location", {"city": "London", "country": "United Kingdom"}, None, []),
    ("Shanghai DC2", "location", {"city": "上海", "country": "中国"}, None, []),
    (
        "core-sw-01",
        "network_device",
        {"device_type": "Switch", "ip_address": "10.0.0.2"},
        "Network Operations",
        [],
    ),
    (
        "fw-edge-01",
        "network_device",
        {"device_type": "Firewall", "ip_address": "10.0.0.1"},
        "Network Operations",
        [],
    ),
    (
        "esx-host-01",
        "server",
        {
            "os": "Linux",
            "cpu_cores": 64,
            "ram_gb": 512,
            "manufacturer": "Dell",
            "model": "PowerEdge R760",
        },
        "Network Operations",
        [],
    ),
    (
        "esx-host-02",
        "server",
        {
            "os": "Linux",
            "cpu_cores": 64,
            "ram_gb": 512,
            "manufacturer": "Dell",
            "model": "PowerEdge R760",
        },
        "Network Operations",
        [],
    ),
    (
        "web-01",
        "virtual_machine",
        {
            "os": "Linux",
            "cpu_cores": 8,
            "ram_gb": 32,
            "hypervisor": "VMware",
            "ip_address": "10.0.10.11",
        },
        "Application Support",
        [],
    ),
    (
        "web-02",
        "virtual_machine",
        {
            "os": "Linux",
            "cpu_cores": 8,
            "ram_gb": 32,
            "hypervisor": "VMware",
            "ip_address": "10.0.10.12",
        },
        "Application Support",
        [],
    ),
    (
        "db-01",
        "virtual_machine",
        {
            "os": "Linux",
            "cpu_cores": 16,
            "ram_gb": 128,
            "hypervisor": "VMware",
            "ip_address": "10.0.20.11",
        },
        "Database Administration",
        [],
    ),
    (
        "mail-01",
        "virtual_machine",
        {
            "os": "Windows",
            "cpu_cores": 8,
            "ram_gb": 64,
            "hypervisor": "Hyper-V",
            "ip_address": "10.0.30.5",
        },
        "Service Desk",
        [],
    ),
    (
        "shop-db",
        "database",
        {"engine": "PostgreSQL", "version": "16", "size_gb": 420},
        "Database Administration",
        [],
    ),
    (
        "erp-db",
        "database",
        {"engine": "Oracle", "version": "19c", "size_gb": 2100},
        "Database Administration",
        [],
    ),
    (
        "Shop web app",
        "application",
        {"version": "4.2", "vendor": "In-house"},
        "Application Support",
        [],
    ),
    ("ERP", "application", {"version": "2024 R2", "vendor": "SAP"}, "Application Support", []),
    (
        "Exchange",
        "application",
        {"version": "2019 CU14", "vendor": "Microsoft"},
        "Service Desk",
        [],
    ),
    (
        "Hosting platform",
        "technical_service",
        {"service_hours": "24x7", "availability_target": 99.95},
        "Network Operations",
        [],
    ),
    (
        "Online shop",
        "business_service",
        {"service_hours": "24x7", "availability_target": 99.9, "customer_facing": True},
        "Application Support",
        ["acme", "pearl-retail"],
    ),
    (
        "Email",
        "business_service",
        {
            "service_hours": "Mon-Fri 07:00-20:00",
            "availability_target": 99.5,
            "customer_facing": False,
        },
        "Service Desk",
        ["acme", "bluebird", "pearl-retail"],
    ),
    (
        "Order to cash (ERP)",
        "business_service",
        {"service_hours": "Mon-Sat 06:00-22:00", "availability_target": 99.5},
        "Application Support",
        ["bluebird"],
    ),
]

# source, type, target
_RELATIONSHIPS = [
    ("esx-host-01", "located_in", "London DC1"),
    ("esx-host-02", "located_in", "London DC1"),
    ("core-sw-01", "located_in", "London DC1"),
    ("esx-host-01", "depends_on", "core-sw-01"),
    ("esx-host-02", "depends_on", "core-sw-01"),
    ("core-sw-01", "connected_to", "fw-edge-01"),
    ("web-01", "runs_on", "esx-host-01"),
    ("web-02", "runs_on", "esx-host-02"),
    ("db-01", "runs_on", "esx-host-01"),
    ("mail-01", "runs_on", "esx-host-02"),
    ("shop-db", "runs_on", "db-01"),
    ("erp-db", "runs_on", "db-01"),
    ("shop-db", "backed_up_by", "erp-db"),
    ("Shop web app", "runs_on", "web-01"),
    ("Shop web app", "runs_on", "web-02"),
    ("Shop web app", "depends_on", "shop-db"),
    ("ERP", "runs_on", "web-02"),
    ("ERP", "depends_on", "erp-db"),
    ("Exchange", "runs_on", "mail-01"),
    ("Hosting platform", "depends_on", "esx-host-01"),
    ("Hosting platform", "depends_on", "esx-host-02"),
    ("Online shop", "depends_on", "Shop web app"),
    ("Online shop", "depends_on", "Hosting platform"),
    ("Email", "depends_on", "Exchange"),
    ("Order to cash (ERP)", "depends_on", "ERP"),
]


@transaction.atomic
def cmdb_demo_load() -> dict[str, int]:
    """Create the demo CIs and relationships that are missing (idempotent)."""
    actor = User.objects.filter(username="admin").first()
    classes = {c.code: c for c in CIClass.objects.all()}
    groups = {g.name: g for g in SupportGroup.objects.all()}
    organisations = {o.code: o for o in Organisation.objects.all()}
    owner = User.objects.filter(username="manager").first()
    by_name = {}
    created = 0
    for name, code, attributes, group, org_codes in _CIS:
        ci = ConfigurationItem.objects.filter(name=name, ci_class=classes[code]).first()
        if ci is None:
            location = by_name.get("London DC1") if code in ("server", "network_device") else None
            ci = ci_create(
                actor=actor,
                ci_class=classes[code],
                name=name,
                attributes=attributes,
                status="live",
                support_group=groups.get(group),
                owner=owner if classes[code].service_kind else None,
                location=location,
                organisations=[organisations[c] for c in org_codes if c in organisations],
            )
            created += 1
        by_name[name] = ci
    types = {t.code: t for t in RelationshipType.objects.all()}
    related = 0
    for source, code, target in _RELATIONSHIPS:
        _rel, was_created = Relationship.objects.get_or_create(
            source=by_name[source], target=by_name[target], type=types[code]
        )
        related += was_created
    return {"cis": created, "relationships": related}
