"""Forms of the agent workspace: log and edit an incident, one small form per transition,
assignment, replies, bulk actions and saved filters (STYLE.md §10).

Forms parse input only; the views hand `cleaned_data` to the services.
"""

from django import forms
from django.db.models import Q
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import SupportGroup, User
from config_items.models import ConfigurationItem
from core.choices import CommentVisibility
from core.exceptions import DomainError
from core.permissions import WORKSPACE_PERMISSION
from core.services import attachment_validate

from .choices import Channel, Impact, PendingReason, ResolutionCode, Urgency
from .models import Category, Incident
from .services import EDITABLE_FIELDS


def agent_queryset():
    """Users who work in the workspace (assignees)."""
    perm = WORKSPACE_PERMISSION.split(".", 1)[1]
    return (
        User.objects.filter(is_active=True)
        .filter(Q(groups__permissions__codename=perm) | Q(user_permissions__codename=perm))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def service_queryset():
    return (
        ConfigurationItem.objects.exclude(ci_class__service_kind="")
        .select_related("ci_class")
        .order_by("name")
    )


def _dependent_category(field) -> None:
    """The category select reloads the subcategory options over HTMX when it changes."""
    field.widget.attrs.update(
        {
            "hx-get": reverse_lazy("incidents:subcategory_options"),
            "hx-target": "#id_subcategory",
            "hx-trigger": "change",
        }
    )


class IncidentCreateForm(forms.Form):
    """Log an incident from a call: caller, channel, service/category, impact x urgency."""

    caller = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        label=_("Caller"),
        widget=forms.HiddenInput,
        error_messages={"required": _("Look up the caller and pick them from the list.")},
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    title = forms.CharField(label=_("Short description"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Markdown is supported."),
    )
    service = forms.ModelChoiceField(
        queryset=ConfigurationItem.objects.none(), label=_("Service"), required=False
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(parent=None, is_active=True),
        label=_("Category"),
        required=False,
    )
    subcategory = forms.ModelChoiceField(
        queryset=Category.objects.filter(is_active=True).exclude(parent=None),
        label=_("Subcategory"),
        required=False,
    )
    impact = forms.TypedChoiceField(
        label=_("Impact"), choices=Impact.choices, coerce=int, initial=Impact.MEDIUM
    )
    urgency = forms.TypedChoiceField(
        label=_("Urgency"), choices=Urgency.choices, coerce=int, initial=Urgency.MEDIUM
    )
    assignment_group = forms.ModelChoiceField(
        queryset=SupportGroup.objects.filter(is_active=True),
        label=_("Assignment group"),
        required=False,
        help_text=_("Leave empty to route by the assignment rules."),
    )
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), label=_("Assignee"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = service_queryset()
        self.fields["assignee"].queryset = agent_queryset()
        _dependent_category(self.fields["category"])
        category = self.data.get("category") if self.is_bound else None
        subs = Category.objects.filter(is_active=True).exclude(parent=None)
        self.fields["subcategory"].queryset = (
            subs.filter(parent_id=category) if category and category.isdigit() else subs.none()
        )
        if self.is_bound and not category:
            self.fields["subcategory"].queryset = subs

    def selected_caller(self) -> User | None:
        """The caller picked so far (to show their name again after an error)."""
        value = self.data.get("caller") if self.is_bound else None
        if value and str(value).isdigit():
            return User.objects.select_related("organisation").filter(pk=value).first()
        return None


class IncidentEditForm(forms.Form):
    """The descriptive fields of an incident; `version` makes a stale edit fail loudly."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    title = forms.CharField(label=_("Short description"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Markdown is supported."),
    )
    service = forms.ModelChoiceField(
        queryset=ConfigurationItem.objects.none(), label=_("Service"), required=False
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(parent=None), label=_("Category"), required=False
    )
    subcategory = forms.ModelChoiceField(
        queryset=Category.objects.exclude(parent=None), label=_("Subcategory"), required=False
    )
    impact = forms.TypedChoiceField(label=_("Impact"), choices=Impact.choices, coerce=int)
    urgency = forms.TypedChoiceField(label=_("Urgency"), choices=Urgency.choices, coerce=int)
    parent = forms.CharField(
        label=_("Parent incident"),
        required=False,
        max_length=20,
        help_text=_("Its number, e.g. INC0000042: its resolution will resolve this incident."),
    )

    # What the service lets an edit change, but the channel: how a call came in is kept.
    FIELDS = tuple(name for name in EDITABLE_FIELDS if name != "channel")

    def __init__(self, *args, incident=None, **kwargs):
        if incident is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "version": incident.version,
                **{name: getattr(incident, name) for name in self.FIELDS if name != "parent"},
                "parent": incident.parent.number if incident.parent_id else "",
            }
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = service_queryset()
        _dependent_category(self.fields["category"])
        category = (
            self.data.get("category")
            if self.is_bound
            else (incident.category_id if incident else None)
        )
        subs = Category.objects.exclude(parent=None)
        self.fields["subcategory"].queryset = (
            subs.filter(parent_id=category) if category and str(category).isdigit() else subs
        )

    def clean_parent(self):
        """The incident with that number, or None when left empty."""
        number = self.cleaned_data["parent"].strip().upper()
        if not number:
            return None
        parent = Incident.objects.filter(number=number).first()
        if parent is None:
            raise forms.ValidationError(
                _("No incident has the number %(number)s."), params={"number": number}
            )
        return parent


class PendForm(forms.Form):
    reason = forms.ChoiceField(label=_("Waiting for"), choices=PendingReason.choices)


class ResolveForm(forms.Form):
    code = forms.ChoiceField(label=_("Resolution code"), choices=ResolutionCode.choices)
    notes = forms.CharField(label=_("Resolution notes"), widget=forms.Textarea(attrs={"rows": 4}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


# Transitions that need input, with the form that collects it; the others need none.
TRANSITION_FORMS: dict[str, type[forms.Form]] = {
    "pend": PendForm,
    "resolve": ResolveForm,
    "reopen": ReasonForm,
    "cancel": ReasonForm,
}


class AssignForm(forms.Form):
    group = forms.ModelChoiceField(
        queryset=SupportGroup.objects.filter(is_active=True),
        label=_("Assignment group"),
        required=False,
    )
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), label=_("Assignee"), required=False
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agent_queryset()

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("group") and not cleaned.get("assignee"):
            raise forms.ValidationError(_("Choose a group or an assignee."))
        return cleaned


class CommentForm(forms.Form):
    """A public reply or an internal work note, optionally with a file."""

    body = forms.CharField(
        label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    visibility = forms.ChoiceField(
        label=_("Visibility"),
        choices=CommentVisibility.choices,
        initial=CommentVisibility.WORK_NOTE,
        widget=forms.RadioSelect,
    )
    file = forms.FileField(label=_("Attach a file"), required=False)

    def clean_file(self):
        uploaded = self.cleaned_data.get("file")
        if uploaded:
            try:
                attachment_validate(uploaded_file=uploaded)
            except DomainError as error:
                raise forms.ValidationError(str(error)) from None
        return uploaded

    def clean(self):
        cleaned = super().clean()
        empty = not (cleaned.get("body") or "").strip() and not cleaned.get("file")
        if empty and not self.errors:
            raise forms.ValidationError(_("Write a message or attach a file."))
        return cleaned


class MajorDeclareForm(forms.Form):
    manager = forms.ModelChoiceField(
        queryset=User.objects.none(), label=_("Major incident manager"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = agent_queryset()


class MajorUpdateForm(forms.Form):
    body = forms.CharField(label=_("Update"), widget=forms.Textarea(attrs={"rows": 3}))
    send_to_customers = forms.BooleanField(
        label=_("Send to affected customers"), required=False, initial=True
    )


BULK_ACTIONS = (
    ("assign", _("Assign to group / person")),
    ("assign_to_me", _("Assign to me")),
    ("start", _("Start work")),
    ("resolve", _("Resolve")),
    ("close", _("Close")),
)


class BulkForm(forms.Form):
    """A bulk action over the selected rows; each row is then handled on its own."""

    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], label=_("Incidents"))
    action = forms.ChoiceField(label=_("Action"), choices=BULK_ACTIONS)
    group = forms.ModelChoiceField(
        queryset=SupportGroup.objects.filter(is_active=True),
        label=_("Assignment group"),
        required=False,
    )
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), label=_("Assignee"), required=False
    )
    code = forms.ChoiceField(
        label=_("Resolution code"),
        choices=[("", "---------"), *ResolutionCode.choices],
        required=False,
    )
    notes = forms.CharField(label=_("Resolution notes"), required=False, widget=forms.Textarea)

    MAX_ROWS = 100

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agent_queryset()
        # Any id parses; visibility is checked row by row.
        self.fields["ids"].valid_value = lambda value: True

    def clean_ids(self):
        ids = list(dict.fromkeys(self.cleaned_data["ids"]))
        if len(ids) > self.MAX_ROWS:
            raise forms.ValidationError(
                _("Select at most %(count)s incidents at a time.") % {"count": self.MAX_ROWS}
            )
        return ids

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        if action == "assign" and not cleaned.get("group") and not cleaned.get("assignee"):
            self.add_error("group", _("Choose a group or an assignee."))
        if action == "resolve":
            if not cleaned.get("code"):
                self.add_error("code", _("Choose a resolution code."))
            if not (cleaned.get("notes") or "").strip():
                self.add_error("notes", _("Describe the resolution."))
        return cleaned


class SavedFilterForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


class CIAddForm(forms.Form):
    ci = forms.ModelChoiceField(
        queryset=ConfigurationItem.objects.all(),
        label=_("Configuration item"),
        widget=forms.HiddenInput,
        error_messages={"required": _("Search for a CI and pick it from the list.")},
    )
