import zoneinfo

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .choices import Language
from .models import User


class LoginForm(AuthenticationForm):
    """Sign-in by username or e-mail address (accounts.backends.EmailOrUsernameBackend)."""

    username = forms.CharField(
        label=_("Username or e-mail"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        # Says neither which of the two was wrong nor whether the account exists.
        "invalid_login": _(
            "That username or e-mail and password do not match an account. "
            "Check them and try again."
        ),
    }


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class ProfileForm(forms.ModelForm):
    """A user's own preferences: interface language and the time zone times are shown in."""

    time_zone = forms.ChoiceField(label=_("Time zone"), choices=_time_zone_choices)

    class Meta:
        model = User
        fields = ["language", "time_zone"]
        help_texts = {
            "language": _("The language of every page and of e-mails sent to you."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].help_text = _("Dates and times are shown in this time zone.")


class LanguageForm(forms.Form):
    """The language picked in the language switch of the top bar."""

    language = forms.ChoiceField(choices=Language.choices)
    next = forms.CharField(required=False)
