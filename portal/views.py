"""The customer self-service portal (ISO/IEC 20000-1 8.6.1, 8.6.2: how customers reach us).

Customers see incidents only through `Incident.objects.visible_to` (their own, and their
organisation's when it shares tickets); anything else answers 404, so the existence of
another organisation's incident is not revealed. Agent-only detail stays out of the
portal: internal work notes, priority, and the names of individual agents. Customers see
the support group that handles their incident, and replies from support staff are signed
"Service desk".
"""

from dataclasses import replace

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import FormView, TemplateView

from accounts.choices import Role
from accounts.models import User
from core.choices import EventType
from core.exceptions import DomainError
from core.permissions import PortalRequiredMixin
from core.selectors import TimelineEntry, ticket_timeline
from core.views import HtmxPartialMixin
from incidents.choices import IncidentStatus
from incidents.models import Incident
from incidents.selectors import incident_get
from incidents.services import (
    incident_comment,
    incident_confirm_resolution,
    incident_rate,
    incident_reject_resolution,
)

from .forms import AttachForm, IncidentRaiseForm, RatingForm, RejectResolutionForm, ReplyForm
from .selectors import (
    TAB_STATUSES,
    portal_incident_counts,
    portal_incident_list,
    portal_subcategory_list,
)
from .services import portal_incident_attach, portal_incident_raise
from .templatetags.portal import customer_state

PAGE_SIZE = 20
SERVICE_DESK = _("Service desk")
# Error keys of the services that name a differently called form field.
_FIELD_ALIASES = {"file": "files", "code": None}


def form_add_service_error(form, exc: DomainError | ValidationError) -> None:
    """Show a refusal from a service as form errors (never a 500)."""
    if isinstance(exc, DomainError):
        if exc.fields:
            for name, errors in exc.fields.items():
                name = _FIELD_ALIASES.get(name, name)
                form.add_error(name if name in form.fields else None, errors)
        else:
            form.add_error(None, str(exc.message))
        return
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            name = _FIELD_ALIASES.get(name, name)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class _Shown:
    """A timeline item as the customer sees it: the real row with a few values reworded."""

    def __init__(self, item, **overrides):
        self._item = item
        self.__dict__.update(overrides)

    def __getattr__(self, name):
        return getattr(self._item, name)


def customer_timeline(*, incident: Incident, user: User) -> list[TimelineEntry]:
    """The incident's timeline (core.selectors.ticket_timeline, which already hides work
    notes) in customer terms: states reworded, support staff shown as the service desk,
    steps that mean nothing to a customer (new -> assigned) left out."""
    entries = ticket_timeline(ticket=incident, user=user)
    actor_ids = {e.actor.pk for e in entries if e.actor is not None}
    customer_ids = set(
        User.objects.filter(pk__in=actor_ids, groups__name=Role.CUSTOMER).values_list(
            "pk", flat=True
        )
    )
    shown = []
    for entry in entries:
        actor = entry.actor
        if actor is not None:
            if actor.pk == user.pk:
                actor = _("You")
            elif actor.pk not in customer_ids:
                actor = SERVICE_DESK
        item = entry.item
        if entry.kind == "comment":
            item = _Shown(item, get_visibility_display=_("Reply"))
        elif entry.kind == "event" and item.event_type == EventType.CREATED:
            item = _Shown(item, get_event_type_display=_("Raised this incident"))
        elif entry.kind == "event" and item.event_type == EventType.STATUS_CHANGED:
            old = customer_state(item.data.get("from", ""), in_history=True)[0]
            reason = item.data.get("reason", "")
            new = customer_state(item.data.get("to", ""), reason, in_history=True)[0]
            if old == new:
                continue
            item = _Shown(item, data={"from": old, "to": new})
            shown.append(replace(entry, actor=actor, item=item, labels={"from": old, "to": new}))
            continue
        shown.append(replace(entry, actor=actor, item=item))
    return shown


def _incident_or_404(user: User, pk: int) -> Incident:
    try:
        return incident_get(user=user, pk=pk)
    except Incident.DoesNotExist:
        raise Http404 from None


class PortalHomeView(PortalRequiredMixin, TemplateView):
    """Welcome page: counts of the customer's incidents and the latest ones."""

    template_name = "portal/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["counts"] = portal_incident_counts(user=user)
        context["latest"] = list(portal_incident_list(user=user)[:5])
        return context


class MyTicketsView(PortalRequiredMixin, HtmxPartialMixin, TemplateView):
    """The customer's incidents, and their organisation's when it shares tickets, by tab
    (open, resolved, closed), with search and pagination."""

    template_name = "portal/my_tickets.html"
    partial_template_name = "portal/partials/ticket_results.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        params = self.request.GET
        tab = params.get("tab", "open")
        if tab not in TAB_STATUSES:
            tab = "open"
        query = params.get("q", "").strip()[:200]
        shares = bool(user.organisation_id and user.organisation.shares_tickets)
        only_mine = shares and params.get("mine") == "1"
        incidents = portal_incident_list(user=user, tab=tab, query=query, only_mine=only_mine)
        page = Paginator(incidents, PAGE_SIZE).get_page(params.get("page"))
        context.update(
            tab=tab,
            query=query,
            shares=shares,
            only_mine=only_mine,
            page_obj=page,
            counts=portal_incident_counts(user=user),
            tabs=[
                ("open", _("Open")),
                ("resolved", _("Solved, to confirm")),
                ("closed", _("Closed")),
            ],
        )
        return context


class RaiseTicketView(PortalRequiredMixin, FormView):
    """Report a problem: service or category, description, impact and urgency in plain
    words, files; raised with its files in one transaction."""

    template_name = "portal/raise_ticket.html"
    form_class = IncidentRaiseForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        return kwargs

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            incident = portal_incident_raise(
                actor=self.request.user,
                title=data["title"],
                description=data["description"],
                impact=data["impact"],
                urgency=data["urgency"],
                service=data["service"],
                category=data["category"],
                subcategory=data["subcategory"],
                files=data["files"],
            )
        except (DomainError, ValidationError) as exc:
            form_add_service_error(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Thank you. Your incident %(number)s has been raised; we will keep you posted.")
            % {"number": incident.number},
        )
        return redirect("portal:incident_detail", pk=incident.pk)


class SubcategoryOptionsView(PortalRequiredMixin, View):
    """The <option>s of the subcategory select for the chosen category (HTMX)."""

    http_method_names = ["get"]

    def get(self, request):
        category_id = request.GET.get("category", "")
        options = (
            portal_subcategory_list(category_id=int(category_id)) if category_id.isdigit() else []
        )
        return render(request, "portal/partials/subcategory_options.html", {"options": options})


class IncidentDetailView(PortalRequiredMixin, View):
    """One incident as the customer sees it, with the reply, file, confirm/reject and
    rating forms; the action views below re-render it with their form's errors."""

    http_method_names = ["get"]

    def get(self, request, pk: int):
        return render_incident_page(request, _incident_or_404(request.user, pk))


def render_incident_page(request, incident: Incident, **forms):
    """The incident page with fresh forms, except the bound one given (with errors)."""
    try:
        rating = incident.rating
    except Incident.rating.RelatedObjectDoesNotExist:
        rating = None
    rating_initial = {"score": rating.score, "comment": rating.comment} if rating else None
    status = incident.status
    # Only the caller answers the resolution (confirm, reject, rate); colleagues who see a
    # shared incident read it.
    is_caller = incident.caller_id == request.user.pk
    context = {
        "incident": incident,
        "timeline": customer_timeline(incident=incident, user=request.user),
        "is_resolved": status == IncidentStatus.RESOLVED,
        "is_caller": is_caller,
        "can_reply": not incident.is_ended,
        "can_rate": is_caller and status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED),
        "rating": rating,
        "handled_by": (
            incident.assignment_group.name if incident.assignment_group_id else SERVICE_DESK
        ),
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "attach_form": forms.get("attach_form") or AttachForm(),
        "reject_form": forms.get("reject_form") or RejectResolutionForm(),
        "rating_form": forms.get("rating_form") or RatingForm(initial=rating_initial),
        "open_form": next(iter(forms), ""),
    }
    return render(request, "portal/incident_detail.html", context)


class IncidentActionView(PortalRequiredMixin, View):
    """POST of one form of the incident page: 404 unless the customer may see the
    incident; a refusal re-renders the page with the form's errors (status 200)."""

    http_method_names = ["post"]
    form_class = None
    form_name = ""
    success_message = ""

    def post(self, request, pk: int):
        incident = _incident_or_404(request.user, pk)
        form = self.form_class(request.POST, request.FILES) if self.form_class else None
        if form is None or form.is_valid():
            try:
                self.perform(incident, form.cleaned_data if form else {})
            except (DomainError, ValidationError) as exc:
                if form is None or (isinstance(exc, DomainError) and not exc.fields):
                    # A refusal by the incident's state (closed meanwhile, not resolved):
                    # the page as it is now, with the reason on top.
                    messages.error(request, " ".join(_messages_of(exc)))
                    return render_incident_page(request, _incident_or_404(request.user, pk))
                form_add_service_error(form, exc)
            else:
                messages.success(request, self.success_message)
                return redirect("portal:incident_detail", pk=incident.pk)
        return render_incident_page(request, incident, **{self.form_name: form})

    def perform(self, incident: Incident, data: dict) -> None:
        raise NotImplementedError


def _messages_of(exc: DomainError | ValidationError) -> list[str]:
    if isinstance(exc, DomainError):
        return [str(exc.message)]
    return exc.messages


class IncidentReplyView(IncidentActionView):
    """A public reply; on an incident waiting on the customer it resumes work."""

    form_class = ReplyForm
    form_name = "reply_form"
    success_message = _("Your reply has been sent.")

    def perform(self, incident, data):
        incident_comment(actor=self.request.user, incident=incident, body=data["body"])


class IncidentAttachView(IncidentActionView):
    form_class = AttachForm
    form_name = "attach_form"
    success_message = _("Your files have been added.")

    def perform(self, incident, data):
        portal_incident_attach(actor=self.request.user, incident=incident, files=data["files"])


class IncidentConfirmView(IncidentActionView):
    """ "Yes, it's fixed": the customer confirms the resolution and the incident closes."""

    success_message = _("Thank you for confirming. The incident is now closed.")

    def perform(self, incident, data):
        incident_confirm_resolution(actor=self.request.user, incident=incident)


class IncidentRejectView(IncidentActionView):
    """ "No, still broken": back to the service desk with the reason."""

    form_class = RejectResolutionForm
    form_name = "reject_form"
    success_message = _("We are sorry it is not solved yet. The service desk will look again.")

    def perform(self, incident, data):
        incident_reject_resolution(
            actor=self.request.user, incident=incident, reason=data["reason"]
        )


class IncidentRateView(IncidentActionView):
    """Rate the resolution 1-5 with a comment (customer satisfaction, 8.3.2 and 9.1)."""

    form_class = RatingForm
    form_name = "rating_form"
    success_message = _("Thank you for your feedback.")

    def perform(self, incident, data):
        incident_rate(
            actor=self.request.user,
            incident=incident,
            score=data["score"],
            comment=data["comment"],
        )


class KnowledgeSearchView(PortalRequiredMixin, HtmxPartialMixin, TemplateView):
    """Self-help search of published knowledge articles; results refresh as one types."""

    template_name = "portal/knowledge.html"
    partial_template_name = "portal/partials/knowledge_results.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["query"] = self.request.GET.get("q", "").strip()[:200]
        return context
