"""Bulk generator of realistic volumes for the benchmarks (`manage.py seed_volume`).

Writes in batches with bulk_create; the audit triggers on these tables are statement-level,
so a batch costs one trigger call, not one per row. Process apps extend it with their
records (incidents, comments, CIs, clocks) as they land.
"""

import random

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.choices import Role
from accounts.models import Organisation, SupportGroup, SupportGroupMembership, User

_BATCH = 5000
_FIRST = ["Wei", "Anna", "Omar", "Lena", "Ravi", "Mei", "Tom", "Sara", "Jun", "Ines", "Yusuf", "Li"]
_LAST = ["Zhang", "Smith", "Khan", "Müller", "Patel", "Wang", "Brown", "Costa", "Liu", "Sato"]


def _batched(items, size=_BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


@transaction.atomic
def volume_seed(
    *, organisations: int, users: int, groups: int, agent_share: float = 0.1, seed: int = 1
) -> dict[str, int]:
    """Add `organisations`, `groups` and `users` (agents and customers) on top of what exists.

    Users share one password hash ("Volume!2026"): hashing per user would dominate the run.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    start_org = Organisation.objects.count()
    new_orgs = [
        Organisation(
            name=f"Volume Organisation {start_org + i:06d}", code=f"vol-{start_org + i:06d}"
        )
        for i in range(organisations)
    ]
    for batch in _batched(new_orgs):
        Organisation.objects.bulk_create(batch)
    org_ids = list(Organisation.objects.values_list("pk", flat=True))

    start_group = SupportGroup.objects.count()
    new_groups = [SupportGroup(name=f"Volume Group {start_group + i:05d}") for i in range(groups)]
    SupportGroup.objects.bulk_create(new_groups)
    group_ids = list(SupportGroup.objects.values_list("pk", flat=True))

    password = make_password("Volume!2026")
    start_user = User.objects.count()
    new_users = []
    for i in range(users):
        n = start_user + i
        is_agent = rng.random() < agent_share or not org_ids
        new_users.append(
            User(
                username=f"vol{n:07d}",
                email=f"vol{n:07d}@volume.example.com",
                first_name=rng.choice(_FIRST),
                last_name=rng.choice(_LAST),
                password=password,
                organisation_id=None if is_agent else rng.choice(org_ids),
            )
        )
    created_users = []
    for batch in _batched(new_users):
        created_users += User.objects.bulk_create(batch)

    role_ids = dict(Group.objects.filter(name__in=Role.values).values_list("name", "pk"))
    memberships, role_rows = [], []
    through = User.groups.through
    for user in created_users:
        role = Role.CUSTOMER if user.organisation_id else Role.AGENT
        role_rows.append(through(user_id=user.pk, group_id=role_ids[role]))
        if role == Role.AGENT and group_ids:
            for group_id in rng.sample(group_ids, k=min(2, len(group_ids))):
                memberships.append(SupportGroupMembership(user_id=user.pk, group_id=group_id))
    for batch in _batched(role_rows):
        through.objects.bulk_create(batch)
    for batch in _batched(memberships):
        SupportGroupMembership.objects.bulk_create(batch, ignore_conflicts=True)
    return {"organisations": len(new_orgs), "groups": len(new_groups), "users": len(created_users)}


def volume_seed_from_options(options: dict) -> dict[str, int]:
    """seed_volume entry point: organisations, groups and users."""
    return volume_seed(
        organisations=options["organisations"],
        users=options["users"],
        groups=options["groups"],
        seed=options["seed"],
    )
