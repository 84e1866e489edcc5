"""Who a user is to the authorisation checks: role names and permission strings."""

from django.db import connection

# A user's role names and permission strings as two arrays, for a user row aliased `u`:
# every request needs both (the role decides workspace or portal, the permissions every
# view's check), so they are read in the statement that reads the user
# (`accounts.selectors.user_with_access_get`, `api_token_get_by_key`) instead of by
# ModelBackend's three queries. A superuser has every permission, as in ModelBackend.
ACCESS_COLUMNS = """
ARRAY(SELECT g.name FROM auth_group g JOIN accounts_user_groups ug ON ug.group_id = g.id
      WHERE ug.user_id = u.id),
ARRAY(SELECT ct.app_label || '.' || p.codename
      FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
      WHERE u.is_superuser
         OR p.id IN (SELECT permission_id FROM accounts_user_user_permissions
                     WHERE user_id = u.id)
         OR p.id IN (SELECT gp.permission_id FROM auth_group_permissions gp
                     JOIN accounts_user_groups ug ON ug.group_id = gp.group_id
                     WHERE ug.user_id = u.id))
"""
_ACCESS_SQL = f"SELECT {ACCESS_COLUMNS} FROM accounts_user u WHERE u.id = %s"  # noqa: S608


def user_access_load(user) -> tuple[frozenset[str], set[str]]:
    """(role names, permission strings) of a saved user, cached on the instance for the
    request (as ModelBackend caches permissions); `user_access_forget` drops the copy."""
    cached = getattr(user, "_access_cache", None)
    if cached is None:
        with connection.cursor() as cursor:
            cursor.execute(_ACCESS_SQL, [user.pk])
            row = cursor.fetchone()
        cached = user_access_keep(user, *(row or ([], [])))
    return cached


def user_access_keep(user, roles, perms) -> tuple[frozenset[str], set[str]]:
    """Cache on the instance the roles and permissions read with it (ACCESS_COLUMNS)."""
    user._access_cache = (frozenset(roles), set(perms))
    return user._access_cache


def user_access_forget(user) -> None:
    """Forget the instance's copy after its roles or permissions changed."""
    for name in ("_access_cache", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(name, None)
