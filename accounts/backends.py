from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from .access import user_access_load
from .selectors import user_with_access_get


class EmailOrUsernameBackend(ModelBackend):
    """Signs a user in by username or email address, both case-insensitive; reads a
    user's permissions with their roles in one query (`user_access_load`)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user_model = get_user_model()
        if username is None:
            username = kwargs.get(user_model.USERNAME_FIELD)
        if not username or password is None:
            return None
        candidates = list(
            user_model._default_manager.filter(
                Q(username__iexact=username) | Q(email__iexact=username)
            )[:2]
        )
        if len(candidates) != 1:
            # Run the hasher anyway so timing does not reveal whether the account exists.
            user_model().set_password(password)
            return None
        user = candidates[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        """The signed-in user of a session, with their roles and permissions in the same
        query (ModelBackend reads the user, then each request's checks read the rest)."""
        user = user_with_access_get(pk=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = user_access_load(user_obj)[1]
        return user_obj._perm_cache
