"""Admin pages for users, organisations, support groups and API tokens.

Role assignment and token creation/revocation go through accounts.services, so the
admin follows the same rules (and leaves the same audit trail) as the API.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.exceptions import DomainError

from . import services
from .choices import Role
from .models import (
    ApiToken,
    Organisation,
    OrganisationContact,
    SupportGroup,
    SupportGroupMembership,
    User,
)


class _RolesFormMixin(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Roles"),
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each role's permissions are declared in code (accounts/roles.py)."),
    )

    def clean(self):
        cleaned = super().clean()
        if Role.CUSTOMER in cleaned.get("roles", []) and not cleaned.get("organisation"):
            self.add_error("organisation", _("A customer must belong to an organisation."))
        return cleaned


class UserAdminChangeForm(_RolesFormMixin, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["roles"].initial = sorted(self.instance.role_names)


class UserAdminCreationForm(_RolesFormMixin, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ["username", "email", "organisation"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    list_display = ["username", "email", "first_name", "last_name", "organisation", "is_active"]
    list_filter = ["is_active", "groups", "organisation"]
    search_fields = ["username", "email", "first_name", "last_name"]
    list_select_related = ["organisation"]
    autocomplete_fields = ["organisation"]
    filter_horizontal = ["served_organisations"]
    readonly_fields = ["is_staff", "is_superuser", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (
            _("Personal info"),
            {"fields": ["first_name", "last_name", "email", "phone", "job_title"]},
        ),
        (
            _("Organisation and preferences"),
            {"fields": ["organisation", "served_organisations", "language", "time_zone"]},
        ),
        (_("Roles"), {"fields": ["roles", "is_active", "is_staff", "is_superuser"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "username",
                    "email",
                    "usable_password",
                    "password1",
                    "password2",
                    "organisation",
                    "roles",
                ],
            },
        ),
    ]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # After the M2M save, so the service's group set is the last word.
        try:
            services.user_set_roles(
                user=form.instance, roles=form.cleaned_data["roles"], actor=request.user
            )
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)


class OrganisationContactInline(admin.TabularInline):
    model = OrganisationContact
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "email", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    inlines = [OrganisationContactInline]


class SupportGroupMembershipForm(forms.ModelForm):
    class Meta:
        model = SupportGroupMembership
        fields = ["user"]

    def clean_user(self):
        user = self.cleaned_data["user"]
        # Same rule as services.support_group_add_member.
        if user.is_customer:
            raise ValidationError(_("Customers cannot be members of support groups."))
        return user


class SupportGroupMembershipInline(admin.TabularInline):
    model = SupportGroupMembership
    form = SupportGroupMembershipForm
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["joined_at"]


@admin.register(SupportGroup)
class SupportGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "manager", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    list_select_related = ["manager"]
    autocomplete_fields = ["manager"]
    inlines = [SupportGroupMembershipInline]


class ApiTokenAddForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name", "expires_at"]

    def clean_expires_at(self):
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise ValidationError(_("The expiry date must be in the future."))
        return expires_at


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created and revoked through services; no field is edited afterwards."""

    list_display = [
        "name",
        "key_prefix",
        "user",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "is_active",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "key_prefix", "user__username"]
    list_select_related = ["user", "created_by"]
    autocomplete_fields = ["user"]
    actions = ["revoke_tokens"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "user",
            "name",
            "key_prefix",
            "created_by",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "revoked_by",
        ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name", "expires_at"]
        return self.get_readonly_fields(request, obj)

    @admin.display(boolean=True, description=_("active"))
    def is_active(self, obj: ApiToken) -> bool:
        return obj.is_active

    def has_add_permission(self, request):
        return request.user.has_perm("accounts.manage_api_tokens")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_manage_permission(self, request):
        return request.user.has_perm("accounts.manage_api_tokens")

    def save_model(self, request, obj, form, change):
        token, key = services.api_token_create(
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data.get("expires_at"),
            actor=request.user,
        )
        # The admin redirects to the object it thinks it saved: point it at the new row.
        obj.pk = token.pk
        obj.key_prefix = token.key_prefix
        self.message_user(
            request,
            _("The key of “%(name)s” is %(key)s — copy it now, it is not shown again.")
            % {"name": token.name, "key": key},
            messages.WARNING,
        )

    @admin.action(permissions=["manage"], description=_("Revoke selected tokens"))
    def revoke_tokens(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            services.api_token_revoke(token=token, actor=request.user)
            revoked += 1
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )
