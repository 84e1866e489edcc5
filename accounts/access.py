"""Who a user is to the authorisation checks: role names and permission strings."""

from django.db import connection

# A user's role names and permission strings in one round trip (every request needs both:
# the role decides workspace or portal, the permissions every view's check), instead of
# ModelBackend's three queries. A superuser has every permission, as in ModelBackend.
_ACCESS_SQL = """
SELECT 'role', g.name
FROM auth_group g JOIN accounts_user_groups ug ON ug.group_id = g.id
WHERE ug.user_id = %(user)s
UNION ALL
SELECT 'perm', ct.app_label || '.' || p.codename
FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
WHERE %(superuser)s
   OR p.id IN (SELECT permission_id FROM accounts_user_user_permissions WHERE user_id = %(user)s)
   OR p.id IN (SELECT gp.permission_id FROM auth_group_permissions gp
               JOIN accounts_user_groups ug ON ug.group_id = gp.group_id
               WHERE ug.user_id = %(user)s)
"""


def user_access_load(user) -> tuple[frozenset[str], set[str]]:
    """(role names, permission strings) of a saved user, cached on the instance for the
    request (as ModelBackend caches permissions); `user_access_forget` drops the copy."""
    cached = getattr(user, "_access_cache", None)
    if cached is None:
        roles, perms = set(), set()
        with connection.cursor() as cursor:
            cursor.execute(_ACCESS_SQL, {"user": user.pk, "superuser": user.is_superuser})
            for kind, value in cursor.fetchall():
                (roles if kind == "role" else perms).add(value)
        cached = user._access_cache = (frozenset(roles), perms)
    return cached


def user_access_forget(user) -> None:
    """Forget the instance's copy after its roles or permissions changed."""
    for name in ("_access_cache", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(name, None)
