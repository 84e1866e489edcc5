"""Access checks for browser views: one policy for every page (STYLE.md §8).

* Anonymous visitors are sent to the login page (an HTMX request gets an `HX-Redirect`,
  so the login page replaces the whole page instead of being swapped into a fragment).
* A customer (may use the portal, not the agent workspace) who opens a staff page with a
  plain GET is redirected to the portal home: links in e-mails and bookmarks then land
  somewhere useful instead of on an error page.
* Anyone else signed in but lacking the permission gets 403.
"""

from django.conf import settings
from django.contrib.auth import mixins
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, resolve_url
from django_htmx.http import HttpResponseClientRedirect

WORKSPACE_PERMISSION = "accounts.access_workspace"
PORTAL_PERMISSION = "accounts.access_portal"
DASHBOARD_PERMISSION = "accounts.view_dashboard"


def is_portal_user(user) -> bool:
    """True for a signed-in user whose only home is the customer portal."""
    return (
        user.is_authenticated
        and user.has_perm(PORTAL_PERMISSION)
        and not user.has_perm(WORKSPACE_PERMISSION)
    )


def home_url_for(user) -> str:
    """Where a signed-in user starts: the portal for customers, else the workspace."""
    return resolve_url("portal:home" if is_portal_user(user) else "core:home")


def deny_access(request, *, redirect_customers: bool):
    """The response (or exception) for a request that failed an access check."""
    if not request.user.is_authenticated:
        to_login = redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(to_login.url)
        return to_login
    if (
        redirect_customers
        and request.method in ("GET", "HEAD")
        and not getattr(request, "htmx", False)
        and is_portal_user(request.user)
    ):
        return redirect("portal:home")
    raise PermissionDenied


class LoginRequiredMixin(mixins.LoginRequiredMixin):
    """Any signed-in user, whatever their role (profile, password change)."""

    def handle_no_permission(self):
        return deny_access(self.request, redirect_customers=False)


class PermissionRequiredMixin(mixins.PermissionRequiredMixin):
    """Requires every permission in `permission_required` (model permission codenames)."""

    # Staff-side pages send customers to the portal; portal pages do not bounce back.
    redirect_customers = True

    def handle_no_permission(self):
        return deny_access(self.request, redirect_customers=self.redirect_customers)


class WorkspaceRequiredMixin(PermissionRequiredMixin):
    """Pages of the agent workspace."""

    permission_required = WORKSPACE_PERMISSION


class PortalRequiredMixin(PermissionRequiredMixin):
    """Pages of the customer portal; agents without the portal permission get 403."""

    permission_required = PORTAL_PERMISSION
    redirect_customers = False


class DashboardRequiredMixin(PermissionRequiredMixin):
    """Manager dashboards and reports."""

    permission_required = DASHBOARD_PERMISSION
