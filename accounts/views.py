"""Sign-in, sign-out, passwords, the user's own profile and the language switch."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views import View
from django.views.generic import UpdateView

from core.permissions import LoginRequiredMixin, home_url_for, is_portal_user

from .choices import Role
from .forms import LanguageForm, LoginForm, ProfileForm
from .services import user_update_preferences


class LayoutMixin:
    """Pages every user has: shown in the portal layout to customers, else the workspace."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["layout_template"] = (
            "portal/base.html" if is_portal_user(self.request.user) else "base.html"
        )
        return context


def _remember_language(response, language: str):
    """Keep the choice in the language cookie too, so the sign-in page honours it later."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


class LoginView(auth_views.LoginView):
    """Sign-in by username or e-mail; customers land in the portal, staff in the workspace.

    Repeated failures lock the username and address out (django-axes), which renders
    accounts/locked_out.html.
    """

    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return home_url_for(self.request.user)


class LogoutView(auth_views.LogoutView):
    """Sign-out, by POST only (a link or an image cannot sign a user out)."""


class PasswordChangeView(LoginRequiredMixin, LayoutMixin, auth_views.PasswordChangeView):
    """Change one's own password; the session stays signed in."""

    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(LoginRequiredMixin, LayoutMixin, auth_views.PasswordChangeDoneView):
    """Confirms a password change."""

    template_name = "accounts/password_change_done.html"


class PasswordResetView(auth_views.PasswordResetView):
    """Sends a reset link by e-mail; says the same whether or not the address is known."""

    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset_body.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    """Tells the user to look for the e-mail."""

    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The page behind the e-mailed link: choose a new password."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    """Confirms the reset and points to the sign-in page."""

    template_name = "accounts/password_reset_complete.html"


class ProfileView(LoginRequiredMixin, LayoutMixin, UpdateView):
    """The signed-in user's own profile: language and time zone preferences.

    UserPreferencesMiddleware applies both on every request from the next one on; the
    change is audited by the user model's history triggers.
    """

    form_class = ProfileForm
    template_name = "accounts/profile.html"
    success_url = reverse_lazy("accounts:profile")

    def get_object(self, queryset=None):
        return self.request.user

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        names = self.request.user.role_names
        context["role_labels"] = [role.label for role in Role if role.value in names]
        return context

    def form_valid(self, form):
        user = user_update_preferences(
            user=self.request.user,
            actor=self.request.user,
            language=form.cleaned_data["language"],
            time_zone=form.cleaned_data["time_zone"],
        )
        # The confirmation already speaks the newly chosen language.
        with translation.override(user.language):
            messages.success(self.request, gettext("Your preferences have been saved."))
        response = HttpResponseRedirect(self.get_success_url())
        return _remember_language(response, user.language)


class SetLanguageView(View):
    """The language switch: stores the choice on the user (if signed in) and in a cookie.

    POST only, like Django's set_language, so a link cannot change someone's settings;
    `next` is followed only when it points to this site.
    """

    http_method_names = ["post"]

    def post(self, request):
        form = LanguageForm(request.POST)
        next_url = request.POST.get("next") or request.headers.get("referer") or ""
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = (
                home_url_for(request.user)
                if request.user.is_authenticated
                else resolve_url(settings.LOGIN_URL)
            )
        response = HttpResponseRedirect(next_url)
        if not form.is_valid():
            return response
        language = form.cleaned_data["language"]
        if request.user.is_authenticated:
            user_update_preferences(user=request.user, actor=request.user, language=language)
        return _remember_language(response, language)
