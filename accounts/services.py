"""Write side of accounts: users, roles, organisations, groups and API tokens."""

import secrets
from datetime import datetime

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError

from .access import user_access_forget
from .choices import Role
from .models import ApiToken, Organisation, SupportGroup, SupportGroupMembership, User
from .roles import ROLE_PERMISSIONS, STAFF_ROLES
from .selectors import api_token_hash


@transaction.atomic
def roles_apply() -> dict[str, int]:
    """Create the role groups and set exactly the permissions declared in roles.py.

    Idempotent; removes permissions granted by hand so the code stays the truth.
    """
    applied = {}
    for role, perm_names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        permissions = []
        for name in perm_names:
            app_label, codename = name.split(".", 1)
            try:
                permissions.append(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                )
            except Permission.DoesNotExist as exc:
                raise LookupError(f"roles.py names an unknown permission: {name}") from exc
        group.permissions.set(permissions)
        applied[role] = len(permissions)
    return applied


@transaction.atomic
def user_set_roles(*, user: User, roles: list[str], actor: User | None) -> User:
    """Give a user exactly these roles; administrators also get admin-site access."""
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise DomainError(
            _("Unknown role: %(roles)s.") % {"roles": ", ".join(sorted(unknown))},
            code="unknown_role",
        )
    if Role.CUSTOMER in roles and user.organisation_id is None:
        raise DomainError(
            _("A customer must belong to an organisation."), code="customer_without_organisation"
        )
    user = User.objects.select_for_update().get(pk=user.pk)
    groups = list(Group.objects.filter(name__in=roles))
    if len(groups) != len(set(roles)):
        raise DomainError(
            _("Roles are not set up yet; run “manage.py apply_roles”."), code="roles_missing"
        )
    user.groups.set(groups)
    is_staff = bool(STAFF_ROLES & set(roles)) or user.is_superuser
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    user_access_forget(user)
    return user


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    organisation: Organisation | None = None,
    roles: list[str] | None = None,
    language: str = "en",
    time_zone: str = "UTC",
    actor: User | None = None,
) -> User:
    """Create a user with roles in one transaction; an unusable password if none given."""
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        organisation=organisation,
        language=language,
        time_zone=time_zone,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    if roles:
        user_set_roles(user=user, roles=roles, actor=actor)
    return user


@transaction.atomic
def support_group_add_member(*, group: SupportGroup, user: User, actor: User | None) -> None:
    """Add a user to a support group (idempotent)."""
    if user.is_customer:
        raise DomainError(
            _("Customers cannot be members of support groups."), code="customer_in_group"
        )
    SupportGroupMembership.objects.get_or_create(group=group, user=user)


@transaction.atomic
def api_token_create(
    *, user: User, name: str, actor: User, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns it and the clear key, which is shown only once."""
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError(
            _("The expiry date must be in the future."),
            code="invalid_expiry",
            fields={"expires_at": [str(_("The expiry date must be in the future."))]},
        )
    if not user.is_active:
        raise DomainError(_("The user is inactive."), code="inactive_user")
    key = secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name,
        key_prefix=key[:8],
        key_hash=api_token_hash(key),
        created_by=actor,
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    """Revoke a token at once; later requests with it are refused."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise DomainError(_("The token is already revoked."), code="already_revoked", status=409)
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    return token


@transaction.atomic
def user_update_preferences(
    *, user: User, actor: User, language: str | None = None, time_zone: str | None = None
) -> User:
    """Change a user's interface language and/or time zone (API `PATCH accounts/me/`)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    changed = []
    if language is not None and language != user.language:
        user.language = language
        changed.append("language")
    if time_zone is not None and time_zone != user.time_zone:
        user.time_zone = time_zone
        changed.append("time_zone")
    if changed:
        user.full_clean(exclude=[f.name for f in User._meta.fields if f.name not in changed])
        user.save(update_fields=changed)
    return user
