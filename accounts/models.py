"""Users, customer organisations and support groups (ISO/IEC 20000-1 8.3.2 customers, 7.2 roles)."""

import zoneinfo

import pghistory
from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .access import user_access_load
from .choices import Language, Role


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


@pghistory.track()
class Organisation(models.Model):
    """A customer organisation: its staff raise tickets and see only its records."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    address = models.TextField(_("address"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    shares_tickets = models.BooleanField(
        _("members see each other's tickets"),
        default=False,
        help_text=_("Customers of this organisation see all of its tickets, not only their own."),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


@pghistory.track()
class OrganisationContact(models.Model):
    """A named contact person of a customer organisation (e.g. IT coordinator, signatory)."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="contacts",
        verbose_name=_("organisation"),
    )
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    class Meta:
        ordering = ["-is_primary", "name"]
        verbose_name = _("organisation contact")
        verbose_name_plural = _("organisation contacts")

    def __str__(self) -> str:
        return self.name


class ItsmUserManager(UserManager):
    def get_by_natural_key(self, username: str) -> "User":
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


@pghistory.track(exclude=["password", "last_login"])
class User(AbstractUser):
    """A person who signs in: customer, agent, manager or administrator (roles are groups)."""

    email = models.EmailField(_("email address"))
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.ENGLISH
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("organisation"),
        help_text=_("The customer organisation a customer belongs to."),
    )
    served_organisations = models.ManyToManyField(
        Organisation,
        blank=True,
        related_name="served_by",
        verbose_name=_("served organisations"),
        help_text=_("Customer organisations an agent works for."),
    )

    objects = ItsmUserManager()

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]
        permissions = [
            ("access_workspace", _("Can use the agent workspace")),
            ("access_portal", _("Can use the customer portal")),
            ("view_dashboard", _("Can view manager dashboards")),
            ("manage_api_tokens", _("Can create and revoke API tokens")),
        ]

    def __str__(self) -> str:
        return self.display_name(self.first_name, self.last_name, self.username)

    @staticmethod
    def display_name(first_name: str, last_name: str, username: str) -> str:
        """How a user is named everywhere: "first last", else the username (also for
        rows read without an instance)."""
        return f"{first_name} {last_name}".strip() or username

    def get_absolute_url(self) -> str:
        return reverse("accounts:profile")

    def clean(self) -> None:
        super().clean()
        self.email = self.email.strip().lower()

    @property
    def role_names(self) -> frozenset[str]:
        return user_access_load(self)[0] if self.pk is not None else frozenset()

    @property
    def is_customer(self) -> bool:
        """A customer sees only the portal and only their organisation's records."""
        return Role.CUSTOMER in self.role_names and not self.is_superuser

    @property
    def is_agent(self) -> bool:
        return self.has_perm("accounts.access_workspace")


@pghistory.track()
class SupportGroup(models.Model):
    """A team that tickets are assigned to (service desk, network, database...)."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    email = models.EmailField(_("email"), blank=True)
    manager = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_groups",
        verbose_name=_("manager"),
    )
    members = models.ManyToManyField(
        User,
        through="SupportGroupMembership",
        related_name="support_groups",
        blank=True,
        verbose_name=_("members"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("support group")
        verbose_name_plural = _("support groups")

    def __str__(self) -> str:
        return self.name


@pghistory.track()
class SupportGroupMembership(models.Model):
    """Membership of a user in a support group; audited like the group itself."""

    group = models.ForeignKey(SupportGroup, on_delete=models.CASCADE, verbose_name=_("group"))
    user = models.ForeignKey(User, on_delete=models.CASCADE, verbose_name=_("user"))
    joined_at = models.DateTimeField(_("joined at"), auto_now_add=True)

    class Meta:
        verbose_name = _("support group membership")
        verbose_name_plural = _("support group memberships")
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="accounts_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.group}"


@pghistory.track(exclude=["key_hash"])
class ApiToken(models.Model):
    """A bearer token for an integration, acting as one user; only its hash is stored."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)
    key_prefix = models.CharField(_("key prefix"), max_length=12, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
        editable=False,
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


# Role assignments and role definitions live in django.contrib.auth's tables; their
# changes are audited by event models declared here (ISO/IEC 20000-1 7.2: who held which
# role when).
UserRoleEvent = pghistory.create_event_model(
    User.groups.through,
    pghistory.InsertEvent("role.granted"),
    pghistory.DeleteEvent("role.revoked"),
    model_name="UserRoleEvent",
    app_label="accounts",
    abstract=False,
    obj_field=pghistory.ObjForeignKey(db_constraint=False, db_index=True),
)
GroupPermissionEvent = pghistory.create_event_model(
    Group.permissions.through,
    pghistory.InsertEvent("permission.granted"),
    pghistory.DeleteEvent("permission.revoked"),
    model_name="GroupPermissionEvent",
    app_label="accounts",
    abstract=False,
    obj_field=pghistory.ObjForeignKey(db_constraint=False, db_index=True),
)
