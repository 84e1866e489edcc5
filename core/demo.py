"""Demo data: the organisations, groups and users a newcomer signs in with.

Idempotent: running it again changes nothing that exists (passwords included), so
`make run` can call it on every start. Process apps add their records here as they land.
"""

from django.contrib.auth.hashers import make_password
from django.db import transaction

from accounts.choices import Language, Role
from accounts.models import Organisation, OrganisationContact, SupportGroup, User
from accounts.services import roles_apply, support_group_add_member, user_set_roles

# (role, username, password): printed by `make run` and listed in the README.
DEMO_LOGINS: list[tuple[str, str, str]] = [
    (Role.ADMINISTRATOR, "admin", "Admin!2026"),
    (Role.MANAGER, "manager", "Manager!2026"),
    (Role.AGENT, "agent", "Agent!2026"),
    (Role.CUSTOMER, "alice", "Customer!2026"),
]

_ORGANISATIONS = [
    ("Acme Trading Co.", "acme", "it@acme.example.com", "+44 20 7946 0000"),
    ("Bluebird Logistics", "bluebird", "helpdesk@bluebird.example.com", "+1 212 555 0100"),
    ("上海明珠零售有限公司", "pearl-retail", "it@pearl-retail.example.cn", "+86 21 5555 0188"),
]

_GROUPS = [
    ("Service Desk", "First line: logs, triages and resolves what it can."),
    ("Network Operations", "LAN, WAN, VPN, firewalls and Wi-Fi."),
    ("Database Administration", "PostgreSQL and Oracle estates, backups."),
    ("Application Support", "Line-of-business applications and integrations."),
]

# username, first, last, email, role, organisation code, language, time zone, groups
_USERS = [
    ("admin", "Ada", "Admin", "admin@itsm.example.com", Role.ADMINISTRATOR, None, "en", "UTC", []),
    (
        "manager",
        "Morgan",
        "Reyes",
        "morgan.reyes@itsm.example.com",
        Role.MANAGER,
        None,
        "en",
        "Europe/London",
        ["Service Desk", "Network Operations"],
    ),
    (
        "agent",
        "Sam",
        "Taylor",
        "sam.taylor@itsm.example.com",
        Role.AGENT,
        None,
        "en",
        "Europe/London",
        ["Service Desk"],
    ),
    (
        "lchen",
        "Li",
        "Chen",
        "li.chen@itsm.example.com",
        Role.AGENT,
        None,
        "zh-hans",
        "Asia/Shanghai",
        ["Service Desk", "Database Administration"],
    ),
    (
        "nkumar",
        "Nikhil",
        "Kumar",
        "nikhil.kumar@itsm.example.com",
        Role.AGENT,
        None,
        "en",
        "Asia/Kolkata",
        ["Network Operations"],
    ),
    (
        "alice",
        "Alice",
        "Moreau",
        "alice.moreau@acme.example.com",
        Role.CUSTOMER,
        "acme",
        "en",
        "Europe/Paris",
        [],
    ),
    (
        "bob",
        "Bob",
        "Nguyen",
        "bob.nguyen@bluebird.example.com",
        Role.CUSTOMER,
        "bluebird",
        "en",
        "America/New_York",
        [],
    ),
    (
        "wangfang",
        "芳",
        "王",
        "wang.fang@pearl-retail.example.cn",
        Role.CUSTOMER,
        "pearl-retail",
        "zh-hans",
        "Asia/Shanghai",
        [],
    ),
]

_DEFAULT_PASSWORD = "Demo!2026"


@transaction.atomic
def demo_data_load() -> dict[str, int]:
    """Create the demo organisations, groups and users if they are missing."""
    roles_apply()
    passwords = {username: password for _role, username, password in DEMO_LOGINS}
    created = {"organisations": 0, "groups": 0, "users": 0}

    organisations = {}
    for name, code, email, phone in _ORGANISATIONS:
        org, was_created = Organisation.objects.get_or_create(
            code=code, defaults={"name": name, "email": email, "phone": phone}
        )
        if was_created:
            OrganisationContact.objects.create(
                organisation=org, name=f"{name} IT", email=email, phone=phone, is_primary=True
            )
        organisations[code] = org
        created["organisations"] += was_created

    groups = {}
    for name, description in _GROUPS:
        group, was_created = SupportGroup.objects.get_or_create(
            name=name, defaults={"description": description}
        )
        groups[name] = group
        created["groups"] += was_created

    for username, first, last, email, role, org_code, language, tz, group_names in _USERS:
        if User.objects.filter(username=username).exists():
            continue
        user = User.objects.create(
            username=username,
            first_name=first,
            last_name=last,
            email=email,
            organisation=organisations.get(org_code),
            language=Language(language),
            time_zone=tz,
            password=make_password(passwords.get(username, _DEFAULT_PASSWORD)),
        )
        user_set_roles(user=user, roles=[role], actor=None)
        if role == Role.AGENT:
            user.served_organisations.set(organisations.values())
        for group_name in group_names:
            support_group_add_member(group=groups[group_name], user=user, actor=None)
        created["users"] += 1

    manager = User.objects.get(username="manager")
    SupportGroup.objects.filter(
        name__in=["Service Desk", "Network Operations"], manager=None
    ).update(manager=manager)
    return created
