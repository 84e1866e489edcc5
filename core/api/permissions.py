from rest_framework.permissions import BasePermission, DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """DjangoModelPermissions that also requires the view permission for reads.

    Only the model is read from the view's queryset. DRF builds it with `get_queryset()`,
    the user's visible rows with their joins, on every request before the view runs; a
    view that declares its model with a class-level `queryset` (`X.objects.none()`, as
    the schema wants anyway) is checked from that instead."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def _queryset(self, view):
        declared = getattr(type(view), "queryset", None)
        return declared if declared is not None else super()._queryset(view)


class ActionPermissions(BasePermission):
    """Per-action permission check for viewsets (transitions, admin-only actions).

    The view declares `action_permissions = {"create": ["accounts.manage_api_tokens"]}`;
    an action not listed only needs a signed-in user, and the rows it can reach are still
    limited by the view's queryset (STYLE.md §8: action and rows are checked separately).
    """

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        required = getattr(view, "action_permissions", {}).get(getattr(view, "action", None), [])
        return request.user.has_perms(required)
