"""The agent workspace for incidents (ISO/IEC 20000-1 8.6.1): queues and list with filters,
saved filters and bulk actions; logging an incident from a call; the incident page with
its transitions, edits, assignment, timeline, CIs, watchers and major-incident handling.

Views parse input, check access and call services or selectors (STYLE.md §1, §10).
"""

import base64
import binascii
import json
from datetime import date, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlencode

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import Organisation, SupportGroup, User
from accounts.selectors import (
    people_matching,
    support_group_member_choices,
    user_support_group_ids,
)
from core.choices import CommentVisibility, Priority
from core.db import joins_as_written
from core.exceptions import DomainError
from core.models import SavedFilter
from core.options import RenderedOptions
from core.permissions import WORKSPACE_PERMISSION, PermissionRequiredMixin
from core.selectors import ticket_timeline
from core.services import attachment_add, saved_filter_delete, saved_filter_save

from .choices import Channel, IncidentStatus, PendingReason, ResolutionCode
from .filters import IncidentFilterSet
from .forms import (
    BULK_ACTIONS,
    TRANSITION_FORMS,
    AssignForm,
    BulkForm,
    CIAddForm,
    CommentForm,
    IncidentCreateForm,
    IncidentEditForm,
    MajorDeclareForm,
    MajorUpdateForm,
    SavedFilterForm,
    agent_queryset,
    service_queryset,
)
from .models import Category, Incident, PriorityMatrix
from .querysets import queue_q
from .selectors import (
    incident_affected,
    incident_list,
    incident_list_for_ci,
    incident_page_get,
    incident_page_lists,
)
from .services import (
    TRANSITION_LABELS,
    incident_assign,
    incident_assign_to_me,
    incident_at_version,
    incident_cancel,
    incident_ci_change,
    incident_close,
    incident_comment,
    incident_create,
    incident_declare_major,
    incident_major_update,
    incident_pend,
    incident_reopen,
    incident_resolve,
    incident_resume,
    incident_start,
    incident_update,
    incident_watch,
)

LIST_NAME = "incidents"
PAGE_SIZES = (25, 50, 100)
# Counting stops here: the exact size of a 600,000-row backlog helps nobody.
COUNT_CAP = 1000
QUEUE_COUNTS_SECONDS = 30
# The queues with a count in their tab (all but "all").
QUEUE_COUNTED = ("mine", "groups", "unassigned", "open", "major")
CHOICES_SECONDS = 60
# Named with the shape of the cached value (RenderedOptions of core.options), so a
# deploy never reads an entry an older release pickled.
CHOICES_KEY = "choices:rendered-options"

QUEUES = (
    ("mine", "person", gettext_lazy("My incidents")),
    ("groups", "people", gettext_lazy("My groups")),
    ("unassigned", "inbox", gettext_lazy("Unassigned in my groups")),
    ("open", "list-task", gettext_lazy("All open")),
    ("major", "exclamation-triangle", gettext_lazy("Major incidents")),
    ("all", "archive", gettext_lazy("All incidents")),
)

# Each sort is a keyset: (field, descending) pairs ending in the primary key, so every
# page is an index range scan however deep the user pages.
SORTS = {
    "priority": (("priority", False), ("created_at", False), ("pk", False)),
    "-created": (("created_at", True), ("pk", True)),
    "created": (("created_at", False), ("pk", False)),
    "-updated": (("updated_at", True), ("pk", True)),
    "sla_due": (("sla_due_at", False), ("pk", False)),
}
# Sort fields that may be empty: PostgreSQL puts NULLs last ascending, first descending.
NULLABLE_SORT_FIELDS = {"sla_due_at"}
SORT_LABELS = {
    "priority": gettext_lazy("Priority, then oldest"),
    "-created": gettext_lazy("Newest first"),
    "created": gettext_lazy("Oldest first"),
    "-updated": gettext_lazy("Recently updated"),
    "sla_due": gettext_lazy("SLA due, nearest first"),
}


class IncidentPermissionMixin(PermissionRequiredMixin):
    """Incident pages belong to the agent workspace; `incident_permissions` adds the action."""

    incident_permissions: tuple[str, ...] = ("incidents.view_incident",)

    def get_permission_required(self):
        return (WORKSPACE_PERMISSION, *self.incident_permissions)


def _get_incident(user, pk: int) -> Incident:
    try:
        return incident_page_get(user=user, pk=pk)
    except Incident.DoesNotExist:
        raise Http404 from None


def _error_text(error: Exception) -> str:
    """One readable sentence from a DomainError or a (field) ValidationError."""
    if isinstance(error, DomainError):
        return str(error.message)
    if isinstance(error, ValidationError):
        return " ".join(str(m) for m in error.messages)
    return str(error)


def _redirect(request, url: str):
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


# ---------------------------------------------------------------- shared choices


def _cache_key(name: str) -> str:
    # The database name keeps parallel test databases (and tenants sharing one Redis)
    # from reading each other's cached ids.
    return f"incidents:{connection.settings_dict['NAME']}:{name}"


# The (value, label) pairs of each shared option list, by name.
_CHOICE_SOURCES = {
    "groups": lambda: SupportGroup.objects.filter(is_active=True).values_list("pk", "name"),
    "agents": lambda: (
        (u.pk, str(u)) for u in agent_queryset().only("pk", "username", "first_name", "last_name")
    ),
    "organisations": lambda: Organisation.objects.order_by("name").values_list("pk", "name"),
    "services": lambda: service_queryset().values_list("pk", "name"),
    "categories": lambda: (
        Category.objects.filter(parent=None).order_by("name").values_list("pk", "name")
    ),
}
CHOICE_NAMES = tuple(_CHOICE_SOURCES)


def choices_cache_key(name: str) -> str:
    """The cache entry of one option list."""
    return _cache_key(f"{CHOICES_KEY}:{name}")


def reference_choices_forget() -> None:
    cache.delete_many([choices_cache_key(name) for name in CHOICE_NAMES])


def reference_choices(*names: str) -> dict:
    """Options of the selects (groups, agents, organisations, services, categories), all
    of them or the `names` asked for.

    Cached briefly in Redis with their <option> markup, one entry per list: they change
    rarely, and building them on every page would cost a query each and the rendering of
    thousands of options. A page reads only the lists it shows: the agents' list alone is
    over 100 kB on a large desk, and the incident page needs only the groups.
    """
    names = names or CHOICE_NAMES
    keys = {name: choices_cache_key(name) for name in names}
    found = cache.get_many(keys.values())
    data = {name: found[key] for name, key in keys.items() if key in found}
    missing = [name for name in names if name not in data]
    if missing:
        built = {name: RenderedOptions(_CHOICE_SOURCES[name]()) for name in missing}
        cache.set_many({keys[name]: value for name, value in built.items()}, CHOICES_SECONDS)
        data.update(built)
    return data


def _priority_matrix() -> dict[str, int]:
    return {f"{c.impact}-{c.urgency}": c.priority for c in PriorityMatrix.objects.all()}


# ---------------------------------------------------------------- keyset pagination


def _cursor_encode(incident: Incident, keys) -> str:
    values = []
    for field, _desc in keys:
        value = getattr(incident, field)
        values.append(value.isoformat() if isinstance(value, datetime) else value)
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _cursor_decode(cursor: str, keys) -> list | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != len(keys):
        return None
    decoded = []
    for (field, _desc), value in zip(keys, values, strict=True):
        if value is None and field in NULLABLE_SORT_FIELDS:
            decoded.append(None)
            continue
        if field.endswith("_at"):
            try:
                value = datetime.fromisoformat(value)
            except (TypeError, ValueError):
                return None
        elif not isinstance(value, int):
            return None
        decoded.append(value)
    return decoded


def _beyond(field: str, desc: bool, value, forward: bool) -> Q:
    """Rows strictly beyond `value` of one sort field, in the walking direction; for a
    nullable field NULLs sort after every value ascending (before them descending)."""
    lookup = "lt" if desc == forward else "gt"
    if field not in NULLABLE_SORT_FIELDS:
        return Q(**{f"{field}__{lookup}": value})
    nulls_beyond = lookup == "gt"  # NULL is the largest value in PostgreSQL's order
    if value is None:
        return Q(pk__in=[]) if nulls_beyond else Q(**{f"{field}__isnull": False})
    part = Q(**{f"{field}__{lookup}": value})
    return part | Q(**{f"{field}__isnull": True}) if nulls_beyond else part


def _keyset_filter(keys, values, forward: bool) -> Q:
    """Rows strictly after (forward) or before the cursor in the sort order."""
    condition = Q()
    for i, (field, desc) in enumerate(keys):
        part = _beyond(field, desc, values[i], forward)
        for j in range(i):
            previous = keys[j][0]
            part &= (
                Q(**{f"{previous}__isnull": True})
                if values[j] is None
                else Q(**{previous: values[j]})
            )
        condition |= part
    return condition


def keyset_page(queryset, *, keys, size: int, after: str = "", before: str = "") -> dict:
    """One page of a keyset-paginated queryset with the cursors of its neighbours."""
    forward = not before
    cursor = before or after
    values = _cursor_decode(cursor, keys) if cursor else None
    order = [("-" if desc == forward else "") + field for field, desc in keys]
    if values is not None:
        queryset = queryset.filter(_keyset_filter(keys, values, forward))
    with joins_as_written():
        rows = list(queryset.order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()
    has_next = more if forward else True
    has_previous = (values is not None) if forward else more
    return {
        "rows": rows,
        "next": _cursor_encode(rows[-1], keys) if rows and has_next else "",
        "previous": _cursor_encode(rows[0], keys) if rows and has_previous else "",
    }


# ---------------------------------------------------------------- queues and list


def queue_counts(user, group_ids: list[int] | None = None) -> dict[str, int]:
    """Open incidents per queue, counted up to COUNT_CAP + 1 (shown as "1000+"), cached
    for half a minute.

    One query of capped subqueries: each reads at most COUNT_CAP + 1 entries of a partial
    index on open incidents, so a cold count costs the same with 80,000 open incidents as
    with 1,000 (an aggregate over all open incidents took 300 ms at 1M incidents).
    """
    key = _cache_key(f"queues:{user.pk}")
    counts = cache.get(key)
    if counts is None:
        if group_ids is None:
            group_ids = user_support_group_ids(user=user)
        parts, params = [], []
        for name in QUEUE_COUNTED:
            capped = (
                Incident.objects.filter(queue_q(name, user, group_ids))
                .order_by()
                .values("pk")[: COUNT_CAP + 1]
            )
            sql, sql_params = capped.query.sql_with_params()
            # Compiled by Django with placeholders; name is one of QUEUE_COUNTED.
            parts.append(f"(SELECT count(*) FROM ({sql}) AS {name}_rows)")  # noqa: S608
            params.extend(sql_params)
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(parts), params)
            counts = dict(zip(QUEUE_COUNTED, cursor.fetchone(), strict=True))
        cache.set(key, counts, QUEUE_COUNTS_SECONDS)
    return counts


def nav_badge(request) -> int | None:
    """The navigation's count next to "Incidents": open incidents assigned to the user."""
    user = request.user
    if not user.has_perm("incidents.view_incident"):
        return None
    return min(queue_counts(user).get("mine", 0), COUNT_CAP) or None


def queue_counts_forget(user) -> None:
    cache.delete(_cache_key(f"queues:{user.pk}"))


def _clean_params(request) -> QueryDict:
    """The filter query without blanks and without the paging cursor."""
    params = request.GET.copy()
    for key in list(params):
        values = [v for v in params.getlist(key) if v != ""]
        if not values or key in ("after", "before"):
            del params[key]
        else:
            params.setlist(key, values)
    return params


class IncidentListView(IncidentPermissionMixin, TemplateView):
    """Queues and the filtered, sorted, keyset-paginated incident list with saved filters
    and bulk actions. An HTMX request gets only the results fragment.

    A constant number of queries whatever the page size: the rows (one join), a capped
    count, the queue counts (cached) and the saved filters; select options are cached.
    """

    template_name = "incidents/incident_list.html"
    partial_template_name = "incidents/partials/incident_results.html"

    def get_template_names(self):
        htmx = getattr(self.request, "htmx", None)
        if htmx and not htmx.boosted and htmx.target == "incident-results":
            return [self.partial_template_name]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        group_ids = user_support_group_ids(user=user)
        params = _clean_params(self.request)
        queue = params.get("queue") or ("groups" if group_ids else "open")
        if queue not in {q[0] for q in QUEUES}:
            queue = "open"
        sort = params.get("sort", "priority")
        if sort not in SORTS:
            sort = "priority"
        try:
            size = int(params.get("per_page", PAGE_SIZES[0]))
        except ValueError:
            size = PAGE_SIZES[0]
        if size not in PAGE_SIZES:
            size = PAGE_SIZES[0]

        queryset = incident_list(user=user)
        in_queue = queue_q(queue, user, group_ids)
        if in_queue is not None:
            queryset = queryset.filter(in_queue)
        filterset = IncidentFilterSet(_filter_params(params), queryset=queryset)
        queryset = filterset.qs if filterset.is_valid() else Incident.objects.none()
        count = queryset.order_by()[: COUNT_CAP + 1].count()
        page = keyset_page(
            queryset,
            keys=SORTS[sort],
            size=size,
            after=self.request.GET.get("after", ""),
            before=self.request.GET.get("before", ""),
        )
        counts = queue_counts(user, group_ids)
        base = params.copy()
        for key in ("queue",):
            base.pop(key, None)
        filter_query = base.urlencode()
        query = params.urlencode()
        tabs = [
            {
                "key": key,
                "icon": icon,
                "label": label,
                "count": min(counts[key], COUNT_CAP) if key in counts else None,
                "count_capped": counts.get(key, 0) > COUNT_CAP,
                "url": "?" + urlencode({"queue": key}) + (f"&{filter_query}" * bool(filter_query)),
                "active": key == queue,
            }
            for key, icon, label in QUEUES
        ]
        sort_base = params.copy()
        sort_base.pop("sort", None)
        sort_urls = {
            name.replace("-", "desc_"): "?"
            + f"{sort_base.urlencode()}&" * bool(sort_base)
            + f"sort={name}"
            for name in SORTS
        }
        context.update(
            now=timezone.now(),
            queue=queue,
            queue_label=next(t["label"] for t in tabs if t["active"]),
            tabs=tabs,
            filterset=filterset,
            form=filterset.form,
            params=params,
            rows=page["rows"],
            next_cursor=page["next"],
            previous_cursor=page["previous"],
            list_query=query,
            total=min(count, COUNT_CAP),
            count_capped=count > COUNT_CAP,
            sort=sort,
            sorts=[(name, SORT_LABELS[name]) for name in SORTS],
            sort_urls=sort_urls,
            per_page=size,
            page_sizes=PAGE_SIZES,
            choices=reference_choices(),
            status_choices=IncidentStatus.choices,
            priority_choices=Priority.choices,
            channel_choices=Channel.choices,
            resolution_choices=ResolutionCode.choices,
            bulk_actions=BULK_ACTIONS,
            saved_filters=list(SavedFilter.objects.filter(owner=user, list_name=LIST_NAME)),
            selected=_selected(params),
        )
        return context


def _filter_params(params: QueryDict) -> QueryDict:
    """Date inputs send YYYY-MM-DD; the filters want datetimes. "To" includes that day.
    The queue is the tab's, applied by the view (with its default), not the filter's."""
    params = params.copy()
    params.pop("queue", None)
    for key, extra_days in (("created_after", 0), ("created_before", 1)):
        value = params.get(key, "")
        if len(value) == 10:
            try:
                day = date.fromisoformat(value) + timedelta(days=extra_days)
            except ValueError:
                continue
            params[key] = f"{day.isoformat()}T00:00:00"
    return params


def _selected(params: QueryDict) -> dict:
    """The chosen values of the list's selects, as strings, for `selected` marks."""
    return {key: params.getlist(key) for key in params}


class IncidentBulkView(IncidentPermissionMixin, View):
    """POST: one action over the selected incidents; each row runs its own service call in
    its own transaction, so one refusal does not undo the others. Answers with per-row
    results (an HTMX fragment), and tells the list to refresh."""

    http_method_names = ["post"]
    incident_permissions = ("incidents.view_incident", "incidents.change_incident")

    def post(self, request):
        form = BulkForm(request.POST)
        results = []
        if form.is_valid():
            data = form.cleaned_data
            visible = {i.pk: i for i in incident_list(user=request.user).filter(pk__in=data["ids"])}
            for pk in data["ids"]:
                incident = visible.get(pk)
                if incident is None:
                    results.append(
                        {"pk": pk, "number": f"#{pk}", "ok": False, "message": _("Not found.")}
                    )
                    continue
                try:
                    self.apply(request.user, incident, data)
                except (DomainError, ValidationError) as error:
                    results.append(
                        {
                            "pk": pk,
                            "number": incident.number,
                            "ok": False,
                            "message": _error_text(error),
                        }
                    )
                else:
                    results.append(
                        {"pk": pk, "number": incident.number, "ok": True, "message": _("Done.")}
                    )
            queue_counts_forget(request.user)
        context = {
            "form": form,
            "results": results,
            "succeeded": sum(1 for r in results if r["ok"]),
            "failed": sum(1 for r in results if not r["ok"]),
        }
        if not request.htmx:
            if form.is_valid():
                messages.info(
                    request,
                    _("%(ok)s succeeded, %(failed)s failed.")
                    % {"ok": context["succeeded"], "failed": context["failed"]},
                )
                for row in results:
                    if not row["ok"]:
                        messages.error(request, f"{row['number']}: {row['message']}")
            else:
                messages.error(
                    request,
                    _("The bulk action was not applied: %(errors)s")
                    % {"errors": _form_errors_text(form)},
                )
            return HttpResponseRedirect(
                reverse("incidents:incident_list") + "?" + request.POST.get("query", "")
            )
        response = TemplateResponse(request, "incidents/partials/bulk_results.html", context)
        if results:
            response["HX-Trigger"] = "incidentsChanged"
        return response

    @staticmethod
    def apply(user, incident: Incident, data: dict) -> None:
        action = data["action"]
        if action == "assign":
            incident_assign(
                actor=user, incident=incident, group=data["group"], assignee=data["assignee"]
            )
        elif action == "assign_to_me":
            incident_assign_to_me(actor=user, incident=incident)
        elif action == "start":
            incident_start(actor=user, incident=incident)
        elif action == "resolve":
            incident_resolve(actor=user, incident=incident, code=data["code"], notes=data["notes"])
        elif action == "close":
            incident_close(actor=user, incident=incident)


def _form_errors_text(form) -> str:
    """A form's errors as one sentence, each prefixed by its field's label."""
    parts = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        prefix = f"{field.label}: " if field is not None and field.label else ""
        parts += [f"{prefix}{error}" for error in errors]
    return " ".join(parts)


class SavedFilterSaveView(IncidentPermissionMixin, View):
    """POST: save the list's current query under a name (same name overwrites)."""

    http_method_names = ["post"]

    def post(self, request):
        form = SavedFilterForm(request.POST)
        query = request.POST.get("query", "")
        if form.is_valid():
            try:
                saved = saved_filter_save(
                    owner=request.user,
                    list_name=LIST_NAME,
                    name=form.cleaned_data["name"],
                    query_string=form.cleaned_data["query"],
                )
            except DomainError as error:
                messages.error(request, _error_text(error))
            else:
                messages.success(request, _("Filter “%(name)s” saved.") % {"name": saved.name})
                query = saved.query_string
        else:
            messages.error(request, _("Give the filter a name."))
        url = reverse("incidents:incident_list")
        return _redirect(request, f"{url}?{query}" if query else url)


class SavedFilterDeleteView(IncidentPermissionMixin, View):
    """POST: delete one of the user's saved filters."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        if saved_filter_delete(owner=request.user, pk=pk):
            messages.success(request, _("Saved filter deleted."))
        else:
            messages.error(request, _("That saved filter does not exist."))
        return _redirect(request, reverse("incidents:incident_list"))


# ---------------------------------------------------------------- create


class IncidentCreateView(IncidentPermissionMixin, View):
    """Log an incident from a call: caller lookup, service/category, live priority."""

    incident_permissions = ("incidents.view_incident", "incidents.add_incident")
    template_name = "incidents/incident_form.html"

    def render(self, request, form):
        context = {
            "form": form,
            "caller": form.selected_caller(),
            "matrix": _priority_matrix(),
            "priority_labels": {str(value): str(label) for value, label in Priority.choices},
        }
        template = (
            "incidents/partials/create_form.html"
            if getattr(request, "htmx", None) and not request.htmx.boosted
            else self.template_name
        )
        return TemplateResponse(request, template, context)

    def get(self, request):
        return self.render(request, IncidentCreateForm())

    def post(self, request):
        form = IncidentCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                incident = incident_create(actor=request.user, **data)
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except DomainError as error:
                form.add_error(None, _error_text(error))
            else:
                queue_counts_forget(request.user)
                messages.success(request, _("%(number)s logged.") % {"number": incident.number})
                return _redirect(request, incident.get_absolute_url())
        return self.render(request, form)


class CallerLookupView(IncidentPermissionMixin, View):
    """Search-as-you-type for the caller: up to 10 active users by name, username or e-mail."""

    template_name = "incidents/partials/caller_results.html"

    def people(self):
        return User.objects.filter(is_active=True).select_related("organisation")

    def get(self, request):
        query = request.GET.get("q", "").strip()[:100]
        return TemplateResponse(
            request,
            self.template_name,
            {"query": query, "results": people_matching(users=self.people(), query=query)},
        )


class AgentLookupView(CallerLookupView):
    """Search-as-you-type for a person of the workspace (a watcher, the major-incident
    manager): up to 10 active agents. The pickers used to be selects of every agent,
    thousands on a large service desk."""

    template_name = "incidents/partials/agent_results.html"

    def people(self):
        return agent_queryset()


class AssigneeOptionsView(IncidentPermissionMixin, View):
    """The <option>s of the assignee select for a group (dependent select): its active
    members, the only people the group may be assigned to."""

    def get(self, request):
        group = request.GET.get("group", "")
        members = support_group_member_choices(group_id=int(group)) if group.isdigit() else []
        return TemplateResponse(
            request, "incidents/partials/assignee_options.html", {"members": members}
        )


class SubcategoryOptionsView(IncidentPermissionMixin, View):
    """The <option>s of the subcategory select for a category (dependent select)."""

    def get(self, request):
        category = request.GET.get("category", "")
        options = (
            Category.objects.filter(parent_id=category, is_active=True)
            if category.isdigit()
            else Category.objects.none()
        )
        return TemplateResponse(
            request, "incidents/partials/subcategory_options.html", {"options": options}
        )


# ---------------------------------------------------------------- detail


@lru_cache(maxsize=64)
def _transition_fields(name: str, language: str) -> str:
    """The rendered fields of a transition's dialog. Always blank on the page (a refused
    transition comes back as a message) and made of fixed choices, so the markup depends
    only on the transition and the language: rendered once per process, not five widget
    templates on every incident page."""
    form = TRANSITION_FORMS[name](prefix=name)
    return render_to_string("core/partials/form_fields.html", {"form": form})


@lru_cache(maxsize=8)
def _blank_reply_fields(language: str) -> str:
    """The reply box's fields when blank (all but a refused reply): the same markup for
    every incident in a language, rendered once per process."""
    return _reply_fields(CommentForm())


def _reply_fields(form: CommentForm) -> str:
    return render_to_string("incidents/partials/reply_fields.html", {"comment_form": form})


def _transitions(incident: Incident, user) -> list[dict]:
    """Transitions the user may take now, with the dialog fields of those that need input."""
    available = {t.name for t in incident.get_available_user_status_transitions(user)}
    language = get_language()
    result = []
    for name, label in TRANSITION_LABELS.items():
        if name == "assign" or name not in available:
            continue
        fields = _transition_fields(name, language) if name in TRANSITION_FORMS else ""
        result.append({"name": name, "label": label, "fields": fields})
    return result


def _assignee_choices(incident: Incident) -> list[tuple[int, str]]:
    """The members of the incident's group, and its assignee if they have left it."""
    choices = support_group_member_choices(group_id=incident.assignment_group_id)
    assignee = incident.assignee
    if assignee is not None and all(pk != assignee.pk for pk, _name in choices):
        choices.append((assignee.pk, str(assignee)))
    return choices


def detail_context(request, incident: Incident, **extra) -> dict:
    """Everything the incident page shows; forms in `extra` replace the blank ones."""
    user = request.user
    cis, watchers, children = incident_page_lists(incident=incident)
    is_watching = any(w.pk == user.pk for w in watchers)
    context = {
        "incident": incident,
        "transitions": _transitions(incident, user),
        "timeline": ticket_timeline(ticket=incident, user=user),
        "cis": cis,
        "children": children,
        "watchers": watchers,
        "is_watching": is_watching,
        "assignee_choices": _assignee_choices(incident),
        "assign_chosen": {
            "group": [str(incident.assignment_group_id or "")],
            "assignee": [str(incident.assignee_id or "")],
        },
        # Only a major incident has a communications log to show.
        "major_updates": list(incident.major_updates.select_related("author"))
        if incident.is_major
        else [],
        "major_update_form": MajorUpdateForm(),
        "choices": reference_choices("groups"),
        "can_edit": not incident.is_ended and user.has_perm("incidents.change_incident"),
        "pending_reasons": dict(PendingReason.choices),
    }
    comment_form = extra.pop("comment_form", None)  # a refused reply, with its errors
    context["reply_fields"] = (
        _reply_fields(comment_form)
        if comment_form is not None
        else _blank_reply_fields(get_language())
    )
    context.update(extra)
    return context


class IncidentDetailView(IncidentPermissionMixin, View):
    """The incident page: header with state and transitions, fields, assignment, timeline
    with the reply box, CIs with the affected services and customers, watchers,
    parent/children, related records and the major-incident panel."""

    def get(self, request, pk: int):
        incident = _get_incident(request.user, pk)
        return TemplateResponse(
            request, "incidents/incident_detail.html", detail_context(request, incident)
        )


class IncidentAffectedView(IncidentPermissionMixin, View):
    """The incident page's impact panel, loaded after the page: the business services
    and customers its service and CIs affect (the CMDB's impact analysis, a walk over the
    relationships that may reach far on a large CMDB)."""

    def get(self, request, pk: int):
        incident = _get_incident(request.user, pk)
        return TemplateResponse(
            request,
            "incidents/partials/affected.html",
            {"affected": incident_affected(incident=incident)},
        )


class IncidentUpdateView(IncidentPermissionMixin, View):
    """Edit the descriptive fields; the form carries the version it was loaded at, so an
    edit on a stale copy is refused ("someone else changed it") and overwrites nothing."""

    incident_permissions = ("incidents.view_incident", "incidents.change_incident")

    def render(self, request, incident, form, status=200):
        template = (
            "incidents/partials/edit_form.html"
            if getattr(request, "htmx", None) and not request.htmx.boosted
            else "incidents/incident_edit.html"
        )
        return TemplateResponse(
            request, template, {"incident": incident, "form": form}, status=status
        )

    def get(self, request, pk: int):
        incident = _get_incident(request.user, pk)
        return self.render(request, incident, IncidentEditForm(incident=incident))

    def post(self, request, pk: int):
        incident = _get_incident(request.user, pk)
        form = IncidentEditForm(request.POST, incident=incident)
        if form.is_valid():
            data = form.cleaned_data
            try:
                incident_update(
                    actor=request.user,
                    incident=incident,
                    expected_version=data["version"],
                    **{name: data[name] for name in IncidentEditForm.FIELDS},
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except DomainError as error:
                form.add_error(None, _error_text(error))
                if error.code == "stale_version":
                    return self.render(request, incident, form, status=200)
            else:
                messages.success(request, _("Your changes were saved."))
                return _redirect(request, incident.get_absolute_url())
        return self.render(request, incident, form)


class IncidentActionView(IncidentPermissionMixin, View):
    """Base of the incident page's POST actions: refusals become messages, never 500s."""

    http_method_names = ["post"]
    incident_permissions = ("incidents.view_incident", "incidents.change_incident")
    anchor = ""

    def post(self, request, pk: int):
        incident = _get_incident(request.user, pk)
        try:
            result = self.act(request, incident)
        except (DomainError, ValidationError) as error:
            messages.error(request, _error_text(error))
        else:
            if isinstance(result, str):
                messages.success(request, result)
            elif result is not None:
                return result
        queue_counts_forget(request.user)
        return _redirect(request, incident.get_absolute_url() + self.anchor)

    def act(self, request, incident):  # pragma: no cover - overridden
        raise NotImplementedError


class IncidentTransitionView(IncidentActionView):
    """POST `transition` (and its form's fields, prefixed by its name): run one transition."""

    def act(self, request, incident):
        name = request.POST.get("transition", "")
        if name not in TRANSITION_LABELS or name == "assign":
            raise DomainError(_("Unknown transition."), code="unknown_transition")
        form_class = TRANSITION_FORMS.get(name)
        data = {}
        if form_class:
            form = form_class(request.POST, prefix=name)
            if not form.is_valid():
                raise DomainError(
                    _("%(transition)s: %(errors)s")
                    % {"transition": TRANSITION_LABELS[name], "errors": _form_errors_text(form)},
                    code="invalid",
                )
            data = form.cleaned_data
        user = request.user
        handlers = {
            "start": lambda: incident_start(actor=user, incident=incident),
            "pend": lambda: incident_pend(actor=user, incident=incident, reason=data["reason"]),
            "resume": lambda: incident_resume(actor=user, incident=incident),
            "resolve": lambda: incident_resolve(
                actor=user, incident=incident, code=data["code"], notes=data["notes"]
            ),
            "close": lambda: incident_close(actor=user, incident=incident),
            "reopen": lambda: incident_reopen(actor=user, incident=incident, reason=data["reason"]),
            "cancel": lambda: incident_cancel(actor=user, incident=incident, reason=data["reason"]),
        }
        version = request.POST.get("version", "")
        updated = incident_at_version(
            incident=incident,
            expected_version=int(version) if version.isdigit() else None,
            run=handlers[name],
        )
        return _("%(number)s is now %(state)s.") % {
            "number": updated.number,
            "state": updated.get_status_display(),
        }


class IncidentAssignView(IncidentActionView):
    """POST: assign to a group and/or person, or `to_me` for "assign to me"."""

    anchor = "#assignment"

    def act(self, request, incident):
        if request.POST.get("to_me"):
            incident_assign_to_me(actor=request.user, incident=incident)
            return _("Assigned to you.")
        form = AssignForm(request.POST)
        if not form.is_valid():
            raise DomainError(_form_errors_text(form), code="invalid")
        incident_assign(
            actor=request.user,
            incident=incident,
            group=form.cleaned_data["group"],
            assignee=form.cleaned_data["assignee"],
            expected_version=form.cleaned_data.get("version"),
        )
        return _("Assignment saved.")


class IncidentCommentView(IncidentPermissionMixin, View):
    """POST: a public reply or a work note, with an optional file; errors re-render the
    page with the form and its messages."""

    http_method_names = ["post"]
    incident_permissions = ("incidents.view_incident", "core.add_comment")

    def post(self, request, pk: int):
        incident = _get_incident(request.user, pk)
        form = CommentForm(request.POST, request.FILES)
        if form.is_valid():
            body = form.cleaned_data["body"].strip()
            visibility = form.cleaned_data["visibility"]
            uploaded = form.cleaned_data.get("file")
            try:
                comment = None
                if body:
                    comment = incident_comment(
                        actor=request.user, incident=incident, body=body, visibility=visibility
                    )
                if uploaded:
                    attachment_add(
                        ticket=incident,
                        actor=request.user,
                        uploaded_file=uploaded,
                        comment=comment,
                        is_public=visibility == CommentVisibility.PUBLIC,
                    )
            except DomainError as error:
                form.add_error("file" if error.fields.get("file") else None, _error_text(error))
            else:
                messages.success(
                    request,
                    _("Work note added.")
                    if visibility == CommentVisibility.WORK_NOTE
                    else _("Reply sent."),
                )
                return _redirect(request, incident.get_absolute_url() + "#timeline")
        incident = _get_incident(request.user, pk)
        return TemplateResponse(
            request,
            "incidents/incident_detail.html",
            detail_context(request, incident, comment_form=form),
        )


def _picked(request, field: str) -> str:
    """The id a people picker ([data-lookup]) put into `field`. A name typed in its search
    box (`q`) but not chosen from the list is refused, not read as nobody (the actor)."""
    value = request.POST.get(field, "")
    if not value and request.POST.get("q", "").strip():
        raise DomainError(_("Choose a person from the list."), code="invalid")
    return value


class IncidentWatchView(IncidentActionView):
    """POST: add or remove a watcher (`user`, default the actor; `watch` 1 or 0)."""

    anchor = "#watchers"
    incident_permissions = ("incidents.view_incident",)

    def act(self, request, incident):
        user_id = _picked(request, "user") or str(request.user.pk)
        if not user_id.isdigit():
            raise DomainError(_("Choose a person."), code="invalid")
        user = get_object_or_404(User, pk=user_id, is_active=True)
        watch = request.POST.get("watch", "1") == "1"
        incident_watch(actor=request.user, incident=incident, user=user, watch=watch)
        return _("Watchers updated.")


class IncidentCIView(IncidentActionView):
    """POST: add (`ci`) or remove (`remove`) an affected configuration item."""

    anchor = "#cis"

    def act(self, request, incident):
        remove = request.POST.get("remove", "")
        if remove.isdigit():
            incident_ci_change(actor=request.user, incident=incident, remove=int(remove))
        else:
            form = CIAddForm(request.POST)
            if not form.is_valid():
                raise DomainError(_form_errors_text(form), code="invalid")
            incident_ci_change(actor=request.user, incident=incident, add=form.cleaned_data["ci"])
        return _("Affected CIs updated.")


class IncidentDeclareMajorView(IncidentActionView):
    """POST: declare a major incident (managers), naming its manager."""

    anchor = "#major"
    incident_permissions = ("incidents.view_incident", "incidents.declare_major_incident")

    def act(self, request, incident):
        _picked(request, "manager")
        form = MajorDeclareForm(request.POST)
        if not form.is_valid():
            raise DomainError(_form_errors_text(form), code="invalid")
        incident_declare_major(
            actor=request.user, incident=incident, manager=form.cleaned_data["manager"]
        )
        return _("Declared a major incident.")


class IncidentMajorUpdateView(IncidentActionView):
    """POST: an entry of the major incident's communications log."""

    anchor = "#major"
    incident_permissions = ("incidents.view_incident", "incidents.add_majorincidentupdate")

    def act(self, request, incident):
        form = MajorUpdateForm(request.POST)
        if not form.is_valid():
            raise DomainError(_form_errors_text(form), code="invalid")
        incident_major_update(
            actor=request.user,
            incident=incident,
            body=form.cleaned_data["body"],
            send_to_customers=form.cleaned_data["send_to_customers"],
        )
        return _("Update logged.")


class CIIncidentsView(IncidentPermissionMixin, TemplateView):
    """Fragment for a CI page: the open incidents that name the CI (loaded by HTMX, so the
    CMDB app needs no import of incidents)."""

    template_name = "incidents/partials/ci_incidents.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["incidents"] = incident_list_for_ci(
            user=self.request.user, ci_id=self.kwargs["ci_pk"]
        )
        return context
