"""Forms of the customer portal. They parse input only; the views hand `cleaned_data` to
the services. Impact and urgency are asked in plain language, not as 1-3 codes."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from incidents.choices import Impact, Urgency

from .selectors import portal_category_list, portal_service_list, portal_subcategory_list

IMPACT_CHOICES = [
    (Impact.LOW, _("Just me")),
    (Impact.MEDIUM, _("Several people or my team")),
    (Impact.HIGH, _("Many people or the whole organisation")),
]
URGENCY_CHOICES = [
    (Urgency.LOW, _("It can wait, I can keep working")),
    (Urgency.MEDIUM, _("It slows my work down")),
    (Urgency.HIGH, _("I cannot work at all")),
]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


def file_limits_help() -> str:
    """What files are accepted, read from settings at request time."""
    return _("Up to %(size)s each. Accepted: %(types)s.") % {
        "size": filesizeformat(settings.ITSM_ATTACHMENT_MAX_BYTES),
        "types": ", ".join(sorted({e.lower() for e in settings.ITSM_ATTACHMENT_EXTENSIONS})),
    }


class MultipleFileField(forms.FileField):
    """Zero or more uploaded files; size and type are checked by core.services."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        items = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if not items:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class IncidentRaiseForm(forms.Form):
    """Report a problem: what it concerns, what happened, how bad it is, files."""

    service = forms.ModelChoiceField(
        label=_("Which service is affected?"),
        queryset=None,
        required=False,
        empty_label=_("I don't know / not listed"),
        help_text=_("Choose the service, or say below what kind of problem it is."),
    )
    category = forms.ModelChoiceField(
        label=_("What kind of problem is it?"),
        queryset=None,
        required=False,
        empty_label=_("Choose…"),
        # The subcategory options follow the category without a page reload.
        widget=forms.Select(
            attrs={
                "hx-get": reverse_lazy("portal:subcategory_options"),
                "hx-target": "#id_subcategory",
                "hx-trigger": "change",
            }
        ),
    )
    subcategory = forms.ModelChoiceField(
        label=_("More precisely"), queryset=None, required=False, empty_label=_("Choose…")
    )
    title = forms.CharField(
        label=_("Short description"),
        max_length=200,
        help_text=_("One line, e.g. “Cannot print to the 2nd floor printer”."),
    )
    description = forms.CharField(
        label=_("What happened?"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "What you did, what you expected and what you saw instead (error messages "
            "help). Markdown formatting is allowed."
        ),
    )
    impact = forms.TypedChoiceField(
        label=_("How many people are affected?"),
        choices=IMPACT_CHOICES,
        coerce=int,
        initial=Impact.LOW,
        widget=forms.RadioSelect,
    )
    urgency = forms.TypedChoiceField(
        label=_("How urgent is it?"),
        choices=URGENCY_CHOICES,
        coerce=int,
        initial=Urgency.MEDIUM,
        widget=forms.RadioSelect,
    )
    files = MultipleFileField(
        label=_("Attach files"),
        required=False,
        help_text=_("Screenshots or log files; you can choose several."),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = portal_service_list(user=user)
        self.fields["category"].queryset = portal_category_list()
        # Only the chosen category's subcategories are offered; the HTMX select refreshes
        # them, and without JavaScript the re-rendered form narrows them after a submit.
        category_id = self.data.get("category") if self.is_bound else None
        self.fields["subcategory"].queryset = (
            portal_subcategory_list(category_id=int(category_id))
            if category_id and str(category_id).isdigit()
            else portal_subcategory_list().none()
        )
        self.fields["files"].help_text = " ".join(
            (str(self.fields["files"].help_text), file_limits_help())
        )
        if not self.fields["service"].queryset.exists():
            self.fields["service"].widget = forms.HiddenInput()

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("service") and not cleaned.get("category"):
            raise ValidationError(
                _("Choose the service that is affected, or what kind of problem it is."),
                code="no_service_or_category",
            )
        return cleaned


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Markdown formatting is allowed."),
    )


class AttachForm(forms.Form):
    files = MultipleFileField(label=_("Add files"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["files"].help_text = file_limits_help()


class RejectResolutionForm(forms.Form):
    reason = forms.CharField(
        label=_("What is still not working?"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("How satisfied are you with the solution?"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
