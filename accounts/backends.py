from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q


class EmailOrUsernameBackend(ModelBackend):
    """Signs a user in by username or email address, both case-insensitive."""

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
