import hashlib
from functools import lru_cache

from django.db import connection
from django.db.models import Q, QuerySet

from core.db import instance_from_row, select_columns

from .access import ACCESS_COLUMNS, user_access_keep
from .models import ApiToken, Organisation, SupportGroup, SupportGroupMembership, User


def api_token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@lru_cache(maxsize=2)
def _user_sql(by_token: bool) -> str:
    """The user's row with their roles and permissions (ACCESS_COLUMNS), by id, or by
    token hash with the token's row first."""
    quote = connection.ops.quote_name
    users = quote(User._meta.db_table)
    if not by_token:
        return (
            f"SELECT {select_columns(User, 'u')}, {ACCESS_COLUMNS} "  # noqa: S608
            f"FROM {users} u WHERE u.id = %s"
        )
    return (
        f"SELECT {select_columns(ApiToken, 't')}, {select_columns(User, 'u')}, "  # noqa: S608
        f"{ACCESS_COLUMNS} FROM {quote(ApiToken._meta.db_table)} t "
        f"JOIN {users} u ON u.id = t.user_id WHERE t.key_hash = %s"
    )


def _user_from_row(row, start: int) -> User:
    user, end = instance_from_row(User, "u", row, start)
    user_access_keep(user, row[end], row[end + 1])
    return user


def user_with_access_get(*, pk: int) -> User | None:
    """The user with their roles and permissions read in the same statement (one query
    for what a request's authorisation needs), or None."""
    with connection.cursor() as cursor:
        cursor.execute(_user_sql(False), [pk])
        row = cursor.fetchone()
    return None if row is None else _user_from_row(row, 0)


def api_token_get_by_key(*, key: str) -> ApiToken | None:
    """The token whose key hashes to the stored hash, with its user and the user's roles
    and permissions (one query), or None."""
    with connection.cursor() as cursor:
        cursor.execute(_user_sql(True), [api_token_hash(key)])
        row = cursor.fetchone()
    if row is None:
        return None
    token, end = instance_from_row(ApiToken, "t", row)
    token.user = _user_from_row(row, end)
    return token


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


# A group's active members by name (every incident page lists its group's): rows, not
# instances, as a group may have a hundred members.
_GROUP_MEMBERS_SQL = (
    "SELECT u.id, u.first_name, u.last_name, u.username "  # noqa: S608
    f"FROM {User._meta.db_table} u JOIN {SupportGroupMembership._meta.db_table} m "
    "ON m.user_id = u.id WHERE m.group_id = %s AND u.is_active "
    "ORDER BY u.first_name, u.last_name, u.username"
)


def support_group_member_choices(*, group_id: int | None) -> list[tuple[int, str]]:
    """(id, name) of a group's active members by name: the choices of an assignee select,
    which lists only the people the chosen group may be assigned to."""
    if not group_id:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_GROUP_MEMBERS_SQL, [int(group_id)])
        rows = cursor.fetchall()
    name = User.display_name
    return [(pk, name(first, last, username)) for pk, first, last, username in rows]


def people_matching(*, users: QuerySet[User], query: str, limit: int = 10) -> list[User]:
    """Up to `limit` of `users` whose name, username or e-mail contains the query (and
    "first last" as two words), by name: the search-as-you-type of the people pickers.
    Nothing for fewer than two characters."""
    query = query.strip()[:100]
    if len(query) < 2:
        return []
    condition = (
        Q(username__icontains=query)
        | Q(email__icontains=query)
        | Q(first_name__icontains=query)
        | Q(last_name__icontains=query)
    )
    parts = query.split()
    if len(parts) == 2:
        condition |= Q(first_name__icontains=parts[0], last_name__icontains=parts[1])
    return list(users.filter(condition).order_by("first_name", "last_name", "username")[:limit])


def user_support_group_ids(*, user: User) -> list[int]:
    return list(user.support_groups.values_list("pk", flat=True))
