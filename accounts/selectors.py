import hashlib

from django.db.models import QuerySet

from .models import ApiToken, Organisation, SupportGroup, User


def api_token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_get_by_key(*, key: str) -> ApiToken | None:
    """The token whose key hashes to the stored hash, with its user, or None."""
    return ApiToken.objects.select_related("user").filter(key_hash=api_token_hash(key)).first()


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """Tokens a user may see: all for token managers, else their own."""
    qs = ApiToken.objects.select_related("user", "created_by", "revoked_by")
    if user.has_perm("accounts.manage_api_tokens"):
        return qs
    return qs.filter(user=user)


def organisation_list(*, user: User) -> QuerySet[Organisation]:
    """Organisations visible to a user: a customer sees only their own."""
    qs = Organisation.objects.all()
    if user.is_customer:
        return qs.filter(pk=user.organisation_id)
    return qs


def support_group_list(*, user: User) -> QuerySet[SupportGroup]:
    return SupportGroup.objects.select_related("manager").prefetch_related("members")


def support_group_member_choices(*, group_id: int | None) -> list[tuple[int, str]]:
    """(id, name) of a group's active members by name: the choices of an assignee select,
    which lists only the people the chosen group may be assigned to."""
    if not group_id:
        return []
    members = (
        User.objects.filter(is_active=True, support_groups=group_id)
        .order_by("first_name", "last_name", "username")
        .only("pk", "username", "first_name", "last_name")
    )
    return [(user.pk, str(user)) for user in members]


def user_support_group_ids(*, user: User) -> list[int]:
    return list(user.support_groups.values_list("pk", flat=True))
