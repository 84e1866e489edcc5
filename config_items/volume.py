"""Realistic CMDB volumes for the benchmarks: a layered estate of locations, network
devices, servers, VMs, databases, applications and services with typical relationships,
plus one dense cluster for worst-case impact analysis.
"""

import random

from django.db import connection, transaction

from .models import CIClass, ConfigurationItem, Relationship, RelationshipType

BATCH = 5000

# class code -> share of the CIs
_MIX = [
    ("location", 0.002),
    ("network_device", 0.02),
    ("server", 0.08),
    ("storage", 0.01),
    ("virtual_machine", 0.33),
    ("database", 0.08),
    ("application", 0.40),
    ("document", 0.02),
    ("technical_service", 0.04),
    ("business_service", 0.018),
]
# Applications sit in tiers (front ends depend on middleware, middleware on back ends),
# as real estates do: dependencies point down the tiers, so they form no giant cycle.
_APP_TIERS = 4
DENSE_PREFIX = "dense-"


def _bulk(model, objects):
    created = []
    for start in range(0, len(objects), BATCH):
        created += model.objects.bulk_create(objects[start : start + BATCH])
    return created


@transaction.atomic
def cmdb_volume_seed(*, cis: int, relationships: int, dense: int = 2000, seed: int = 7) -> dict:
    """Create `cis` CIs and about `relationships` relationships; `dense` CIs of them form a
    tightly meshed cluster (every app there depends on ~20 others) for the worst case."""
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not security
    classes = {c.code: c for c in CIClass.objects.all()}
    types = {t.code: t.pk for t in RelationshipType.objects.all()}
    start = ConfigurationItem.objects.count()
    by_class: dict[str, list[int]] = {}
    objects, codes = [], []
    regular = max(0, cis - dense)
    for code, share in _MIX:
        count = max(1, int(regular * share))
        for _i in range(count):
            attributes = {}
            if code in ("server", "virtual_machine"):
                attributes = {
                    "os": rng.choice(["Linux", "Linux", "Linux", "Windows"]),
                    "cpu_cores": rng.choice([2, 4, 8, 16, 32]),
                    "ram_gb": rng.choice([8, 16, 32, 64, 128]),
                }
            elif code == "database":
                attributes = {"engine": rng.choice(["PostgreSQL", "Oracle", "MySQL"])}
            elif code == "network_device":
                attributes = {"device_type": rng.choice(["Router", "Switch", "Firewall"])}
            objects.append(
                ConfigurationItem(
                    name=f"{code}-{start + len(objects):07d}",
                    ci_class=classes[code],
                    status="live",
                    attributes=attributes,
                )
            )
            codes.append(code)
    for i in range(dense):
        objects.append(
            ConfigurationItem(
                name=f"{DENSE_PREFIX}{start + i:07d}",
                ci_class=classes["application"],
                status="live",
            )
        )
        codes.append("dense")
    # Discovery registers CIs of every class in mixed order, not class by class.
    order = list(range(len(objects)))
    rng.shuffle(order)
    objects = [objects[i] for i in order]
    codes = [codes[i] for i in order]
    created = _bulk(ConfigurationItem, objects)
    for ci, code in zip(created, codes, strict=True):
        by_class.setdefault(code, []).append(ci.pk)

    pairs: set[tuple[int, int, int]] = set()

    def link(source, target, type_code):
        if source != target:
            pairs.add((source, target, types[type_code]))

    locations = by_class["location"]
    for code in ("network_device", "server"):
        for pk in by_class[code]:
            link(pk, rng.choice(locations), "located_in")
    for pk in by_class["server"]:
        link(pk, rng.choice(by_class["network_device"]), "connected_to")
    for pk in by_class["virtual_machine"]:
        link(pk, rng.choice(by_class["server"]), "runs_on")
    for pk in by_class["database"]:
        link(pk, rng.choice(by_class["virtual_machine"]), "runs_on")
    apps = by_class["application"]
    for pk in apps:
        link(pk, rng.choice(by_class["virtual_machine"]), "runs_on")
        link(pk, rng.choice(by_class["database"]), "depends_on")
    for pk in by_class["technical_service"]:
        for target in rng.sample(apps, k=min(5, len(apps))):
            link(pk, target, "depends_on")
    for pk in by_class["business_service"]:
        for target in rng.sample(by_class["technical_service"], k=3):
            link(pk, target, "depends_on")
        for target in rng.sample(apps, k=5):
            link(pk, target, "depends_on")
    dense_ids = by_class.get("dense", [])
    for pk in dense_ids:
        for target in rng.sample(dense_ids, k=min(20, len(dense_ids))):
            link(pk, target, "depends_on")
    # Fill up to the requested count with the bulk of real-world CMDB edges: tiered
    # app-to-app and app-to-database dependencies, backups and documentation links (the
    # last two carry no impact).
    tiers = [apps[i::_APP_TIERS] for i in range(_APP_TIERS)]
    backup_sources = by_class["virtual_machine"] + by_class["database"]
    budget = relationships - len(pairs)
    while budget > 0:
        roll = rng.random()
        before = len(pairs)
        if roll < 0.45:
            tier = rng.randrange(_APP_TIERS - 1)
            link(rng.choice(tiers[tier]), rng.choice(tiers[tier + 1]), "depends_on")
        elif roll < 0.65:
            link(rng.choice(apps), rng.choice(by_class["database"]), "depends_on")
        elif roll < 0.85:
            link(rng.choice(backup_sources), rng.choice(by_class["storage"]), "backed_up_by")
        else:
            link(rng.choice(apps), rng.choice(by_class["document"]), "documented_by")
        budget -= len(pairs) - before
    rows = [Relationship(source_id=s, target_id=t, type_id=k) for s, t, k in pairs]
    _bulk(Relationship, rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE config_items_configurationitem")
        cursor.execute("ANALYZE config_items_relationship")
    return {"cis": len(created), "relationships": len(rows)}


def cmdb_volume_seed_from_options(options: dict) -> dict[str, int]:
    """seed_volume entry point: --cis and --relationships."""
    if not options.get("cis"):
        return {}
    return cmdb_volume_seed(
        cis=options["cis"], relationships=options.get("relationships") or options["cis"] * 5
    )
