"""The notification list, the bell's dropdown, and marking notifications read."""

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import ListView

from core.permissions import LoginRequiredMixin, is_portal_user

from .models import Notification
from .selectors import notification_get, notification_list, notification_unread_count
from .services import notification_mark_all_read, notification_mark_read

MENU_SIZE = 8


def _menu(request):
    """The bell's dropdown, with an out-of-band update of the unread badge."""
    context = {
        "notifications": notification_list(user=request.user)[:MENU_SIZE],
        "unread_count": notification_unread_count(user=request.user),
    }
    return render(request, "notifications/partials/menu.html", context)


class NotificationListView(LoginRequiredMixin, ListView):
    """All of the signed-in user's notifications, newest first (workspace or portal layout)."""

    template_name = "notifications/notification_list.html"
    context_object_name = "notifications"
    paginate_by = 25

    def get_queryset(self):
        return notification_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["layout_template"] = (
            "portal/base.html" if is_portal_user(self.request.user) else "base.html"
        )
        return context


class NotificationMenuView(LoginRequiredMixin, View):
    """GET: the bell's dropdown, loaded by HTMX when the bell opens."""

    def get(self, request):
        return _menu(request)


class NotificationReadView(LoginRequiredMixin, View):
    """POST: mark one notification read, then follow its link (or refresh the dropdown)."""

    def post(self, request, pk: int):
        try:
            notification = notification_get(user=request.user, pk=pk)
        except Notification.DoesNotExist as exc:
            raise Http404 from exc
        notification_mark_read(actor=request.user, notification=notification)
        if request.htmx:
            return _menu(request)
        target = request.POST.get("next") or notification.url
        if not url_has_allowed_host_and_scheme(target, allowed_hosts=None):
            target = reverse("notifications:notification_list")
        return HttpResponseRedirect(target)


class NotificationReadAllView(LoginRequiredMixin, View):
    """POST: mark all of the user's notifications read."""

    def post(self, request):
        notification_mark_all_read(actor=request.user)
        if request.htmx:
            return _menu(request)
        return redirect("notifications:notification_list")
