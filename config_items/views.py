"""Browser pages of the CMDB (ISO/IEC 20000-1 8.2.5, 8.2.6): the CI list, a CI with its
relationships, impact and history, create/edit, imports and baselines.

Views parse input, check access and call one service or selector (STYLE.md §1, §10).
"""

import json
import secrets
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.db.models.functions import Lower
from django.http import Http404, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import User
from core.exceptions import DomainError
from core.permissions import WORKSPACE_PERMISSION, PermissionRequiredMixin
from core.views import HtmxPartialMixin

from .choices import CIStatus, ImpactDirection, ImportStatus
from .filters import ATTRIBUTE_PARAM_PREFIX, ConfigurationItemFilterSet
from .forms import (
    BaselineForm,
    ConfigurationItemForm,
    ImportMappingForm,
    ImportUploadForm,
    RelationshipForm,
    TransitionForm,
    attribute_filter_fields,
    ci_filter_form_prepare,
)
from .imports import (
    _parse,
    import_job_apply,
    import_job_create,
    import_mapping_default,
    import_progress,
)
from .models import Baseline, CIClass, ConfigurationItem, ImportJob, Relationship, RelationshipType
from .schema import ci_class_schema
from .selectors import (
    DEFAULT_IMPACT_DEPTH,
    MAX_IMPACT_DEPTH,
    ci_affected_services,
    ci_get,
    ci_history,
    ci_impact,
    ci_list,
    impact_graph,
)
from .services import (
    CI_TRANSITIONS,
    baseline_create,
    baseline_diff,
    ci_create,
    ci_transition,
    ci_update,
    relationship_create,
    relationship_delete,
)

PAGE_SIZE = 50
# Counting stops here: an exact COUNT(*) over 100,000 filtered rows on every page costs
# more than the page itself, and nobody pages that far.
COUNT_CAP = 10_000
MAX_BASELINE_CIS = 5_000
IMPORT_UPLOAD_SECONDS = 3600
DEPTH_CHOICES = (1, 2, 3, 4, 6, 8, MAX_IMPACT_DEPTH)


class CMDBPermissionMixin(PermissionRequiredMixin):
    """Every CMDB page belongs to the agent workspace; `cmdb_permissions` adds the action."""

    cmdb_permissions: tuple[str, ...] = ("config_items.view_configurationitem",)

    def get_permission_required(self):
        return (WORKSPACE_PERMISSION, *self.cmdb_permissions)


class CappedPaginator(Paginator):
    """A paginator whose count stops at COUNT_CAP + 1 (one LIMITed COUNT query)."""

    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.cap + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap


def _status_css(status: str) -> str:
    return f"ci-status-{status}"


def _get_ci(user, pk: int) -> ConfigurationItem:
    try:
        return ci_get(user=user, pk=pk)
    except ConfigurationItem.DoesNotExist:
        raise Http404 from None


# ---------------------------------------------------------------- list


class CIListView(CMDBPermissionMixin, HtmxPartialMixin, TemplateView):
    """The CI list: filters (with the chosen class's attributes), class-aware columns,
    capped-count pagination; the filter form swaps only the results over HTMX."""

    template_name = "config_items/ci_list.html"
    partial_template_name = "config_items/partials/ci_results.html"

    def _clean_params(self, ci_class: CIClass | None, schema) -> QueryDict:
        """The query without stale attr.* keys (of a previously chosen class) or blanks."""
        params = self.request.GET.copy()
        keys = {d.key for d in schema} if ci_class else set()
        for key in list(params):
            values = [v for v in params.getlist(key) if v != ""]
            stale = key.startswith(ATTRIBUTE_PARAM_PREFIX) and (
                key.removeprefix(ATTRIBUTE_PARAM_PREFIX) not in keys
            )
            if stale or not values or key in ("page", "shown_class"):
                del params[key]
            else:
                params.setlist(key, values)
        return params

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        code = self.request.GET.get("ci_class", "")
        ci_class = CIClass.objects.filter(code=code).first() if code else None
        schema = ci_class_schema(ci_class) if ci_class else []
        params = self._clean_params(ci_class, schema)
        filterset = ConfigurationItemFilterSet(
            params, queryset=ci_list(user=self.request.user).order_by(Lower("name"), "pk")
        )
        form = filterset.form
        ci_filter_form_prepare(form)
        queryset = filterset.qs if filterset.is_valid() else ConfigurationItem.objects.none()
        paginator = CappedPaginator(queryset, PAGE_SIZE)
        page = paginator.get_page(self.request.GET.get("page"))
        by_key = {d.key: d for d in schema}
        columns = [by_key[k] for k in (ci_class.list_columns if ci_class else []) if k in by_key]
        rows = [
            {
                "ci": ci,
                "status_css": _status_css(ci.status),
                "values": [ci.attributes.get(d.key) for d in columns],
            }
            for ci in page.object_list
        ]
        attribute_form = _attribute_filter_form(schema, params)
        query = params.urlencode()
        context.update(
            filterset=filterset,
            form=form,
            ci_class=ci_class,
            columns=columns,
            show_class=ci_class is None or ci_class.children.exists(),
            rows=rows,
            page=page,
            paginator=paginator,
            attribute_form=attribute_form,
            query=query,
            export_url=reverse("api-v1:config_items-api:ci-export")
            + (f"?{query}" if query else ""),
            baseline_url=reverse("config_items:baseline_create")
            + "?"
            + urlencode({"filter": query}),
            # Redraw the attribute inputs only when the class changed, so typing in them
            # is never interrupted by a swap.
            class_changed=self.request.GET.get("shown_class", "") != (code if ci_class else ""),
            status_choices=CIStatus.choices,
        )
        return context


def _attribute_filter_form(schema, params):
    form_class = type("AttributeFilterForm", (forms.Form,), attribute_filter_fields(schema))
    return form_class(params)


# ---------------------------------------------------------------- detail


def _impact_context(ci: ConfigurationItem, direction: str, depth: int) -> dict:
    impact = ci_impact(ci_ids=[ci.pk], direction=direction, depth=depth)
    cis = ConfigurationItem.objects.filter(pk__in=impact.ci_ids).select_related("ci_class")
    items = sorted(
        ({"ci": c, "distance": impact.distances[c.pk]} for c in cis),
        key=lambda item: (item["distance"], item["ci"].name.lower()),
    )
    summary = ci_affected_services(ci_ids=[ci.pk], impact=impact)
    graph = impact_graph(impact=impact)
    return {
        "impact_direction": direction,
        "impact_depth": depth,
        "impact_items": items,
        "impact_graph": graph,
        "impact_graph_json": json.dumps(graph),
        "affected": summary,
        "direction_choices": ImpactDirection.choices,
        "depth_choices": DEPTH_CHOICES,
    }


def _impact_params(request) -> tuple[str, int]:
    direction = request.GET.get("direction", ImpactDirection.DOWNSTREAM)
    if direction not in ImpactDirection.values:
        direction = ImpactDirection.DOWNSTREAM
    try:
        depth = max(1, min(int(request.GET.get("depth", DEFAULT_IMPACT_DEPTH)), MAX_IMPACT_DEPTH))
    except ValueError:
        depth = DEFAULT_IMPACT_DEPTH
    return direction, depth


HISTORY_FIELDS = {
    "name": ConfigurationItem._meta.get_field("name").verbose_name,
    "status": ConfigurationItem._meta.get_field("status").verbose_name,
    "environment": ConfigurationItem._meta.get_field("environment").verbose_name,
    "criticality": ConfigurationItem._meta.get_field("criticality").verbose_name,
    "owner": ConfigurationItem._meta.get_field("owner").verbose_name,
    "support_group": ConfigurationItem._meta.get_field("support_group").verbose_name,
    "location": ConfigurationItem._meta.get_field("location").verbose_name,
    "serial_number": ConfigurationItem._meta.get_field("serial_number").verbose_name,
    "asset_tag": ConfigurationItem._meta.get_field("asset_tag").verbose_name,
    "notes": ConfigurationItem._meta.get_field("notes").verbose_name,
    "ci_class": ConfigurationItem._meta.get_field("ci_class").verbose_name,
}


def _history_rows(ci: ConfigurationItem, schema) -> list[dict]:
    """ci_history with ids and codes turned into what people read."""
    entries = ci_history(ci=ci)
    labels = {f"attributes.{d.key}": d.label for d in schema}
    lookups = {
        "owner": User.objects,
        "support_group": ConfigurationItem.support_group.field.related_model.objects,
        "location": ConfigurationItem.objects,
        "ci_class": CIClass.objects,
    }
    wanted: dict[str, set] = {name: set() for name in lookups}
    for entry in entries:
        if entry["field"] in wanted:
            wanted[entry["field"]].update(v for v in (entry["old"], entry["new"]) if v)
    names = {
        field: {obj.pk: str(obj) for obj in manager.filter(pk__in=ids)}
        for field, manager in lookups.items()
        if (ids := wanted[field])
    }
    displays = {
        "status": dict(CIStatus.choices),
        "environment": dict(ConfigurationItem._meta.get_field("environment").choices),
        "criticality": dict(ConfigurationItem._meta.get_field("criticality").choices),
    }
    for entry in entries:
        name = entry["field"]
        entry["label"] = (
            labels.get(name)
            or HISTORY_FIELDS.get(name)
            or (_("Relationship") if name == "relationship" else name)
        )
        table = names.get(name) or displays.get(name)
        if table:
            entry["old"] = table.get(entry["old"], entry["old"])
            entry["new"] = table.get(entry["new"], entry["new"])
    return entries


def _relationship_context(request, ci: ConfigurationItem, form=None) -> dict:
    groups: dict[tuple, dict] = {}
    for rel in ci.outgoing.all():
        group = groups.setdefault(
            ("out", rel.type_id), {"label": rel.type.forward_name, "items": []}
        )
        group["items"].append({"rel": rel, "other": rel.target})
    for rel in ci.incoming.all():
        group = groups.setdefault(
            ("in", rel.type_id), {"label": rel.type.reverse_name, "items": []}
        )
        group["items"].append({"rel": rel, "other": rel.source})
    for group in groups.values():
        group["items"].sort(key=lambda item: item["other"].name.lower())
    if form is None and request.user.has_perm("config_items.add_relationship"):
        form = RelationshipForm(types=list(RelationshipType.objects.all()))
    return {
        "ci": ci,
        "relationship_groups": sorted(groups.values(), key=lambda g: g["label"]),
        "relationship_form": form,
    }


class CIDetailView(CMDBPermissionMixin, TemplateView):
    """A CI: attributes, details, lifecycle buttons, relationships, impact (graph and
    list), affected services, history and a comparison with a baseline."""

    template_name = "config_items/ci_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        ci = _get_ci(user, self.kwargs["pk"])
        schema = ci_class_schema(ci.ci_class)
        known = {d.key for d in schema}
        attributes = [
            {"definition": d, "value": ci.attributes.get(d.key)}
            for d in schema
            if d.key in ci.attributes
        ]
        extra = {k: v for k, v in ci.attributes.items() if k not in known}
        available = {t.name for t in ci.get_available_user_status_transitions(user)}
        transitions = [
            {"name": name, "label": label}
            for name, label in CI_TRANSITIONS.items()
            if name in available
        ]
        baselines = list(Baseline.objects.filter(items__ci=ci).order_by("-created_at"))
        context.update(
            status_css=_status_css(ci.status),
            attributes=attributes,
            missing_attributes=[d for d in schema if d.key not in ci.attributes],
            extra_attributes=extra,
            transitions=transitions,
            history=_history_rows(ci, schema),
            baselines=baselines,
            **_relationship_context(self.request, ci),
            **_impact_context(ci, *_impact_params(self.request)),
        )
        chosen = self.request.GET.get("baseline")
        if chosen and chosen.isdigit():
            context.update(_baseline_diff_context(ci, int(chosen), baselines))
        return context


class CIImpactView(CMDBPermissionMixin, View):
    """The impact panel of a CI for a direction and depth (an HTMX fragment)."""

    cmdb_permissions = ("config_items.view_configurationitem", "config_items.view_relationship")

    def get(self, request, pk: int):
        ci = _get_ci(request.user, pk)
        context = {"ci": ci, **_impact_context(ci, *_impact_params(request))}
        return TemplateResponse(request, "config_items/partials/ci_impact.html", context)


def _baseline_diff_context(ci, baseline_id: int, baselines) -> dict:
    baseline = next((b for b in baselines if b.pk == baseline_id), None)
    if baseline is None:
        return {"baseline_error": _("This CI is not part of that baseline.")}
    return {
        "chosen_baseline": baseline,
        "baseline_changes": baseline_diff(baseline=baseline, ci=ci),
    }


class CIBaselineDiffView(CMDBPermissionMixin, View):
    """How the CI differs now from a chosen baseline (an HTMX fragment)."""

    cmdb_permissions = ("config_items.view_configurationitem", "config_items.view_baseline")

    def get(self, request, pk: int):
        ci = _get_ci(request.user, pk)
        baselines = list(Baseline.objects.filter(items__ci=ci).order_by("-created_at"))
        context = {"ci": ci, "baselines": baselines}
        chosen = request.GET.get("baseline", "")
        if chosen.isdigit():
            context.update(_baseline_diff_context(ci, int(chosen), baselines))
        return TemplateResponse(request, "config_items/partials/ci_baseline_diff.html", context)


class CITransitionView(CMDBPermissionMixin, View):
    """POST: move the CI along its lifecycle; a refused transition shows why."""

    cmdb_permissions = (
        "config_items.view_configurationitem",
        "config_items.change_status_configurationitem",
    )
    http_method_names = ["post"]

    def post(self, request, pk: int):
        ci = _get_ci(request.user, pk)
        form = TransitionForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose a transition."))
        else:
            name = form.cleaned_data["transition"]
            try:
                ci = ci_transition(actor=request.user, ci=ci, transition=name)
            except DomainError as exc:
                messages.error(request, str(exc.message))
            else:
                messages.success(
                    request,
                    _("“%(name)s” is now %(status)s.")
                    % {"name": ci.name, "status": ci.get_status_display()},
                )
        return HttpResponseRedirect(ci.get_absolute_url())


class CILookupView(CMDBPermissionMixin, View):
    """Search-as-you-type for the relationship form: up to 10 CIs matching `q`."""

    def get(self, request):
        query = request.GET.get("q", "").strip()[:100]
        results = []
        if len(query) >= 2:
            results = list(
                ci_list(user=request.user)
                .filter(name__icontains=query)
                .exclude(pk=request.GET.get("exclude") or 0)
                .order_by("name", "pk")[:10]
            )
        return TemplateResponse(
            request,
            "config_items/partials/ci_lookup.html",
            {"query": query, "results": results},
        )


class RelationshipMixin(CMDBPermissionMixin):
    http_method_names = ["post"]

    def respond(self, request, ci, *, form=None, changed: bool):
        if not request.htmx:
            return HttpResponseRedirect(ci.get_absolute_url() + "#relationships")
        ci = _get_ci(request.user, ci.pk)
        response = TemplateResponse(
            request,
            "config_items/partials/ci_relationships.html",
            _relationship_context(request, ci, form),
        )
        if changed:
            # The impact panel listens and reloads itself.
            response["HX-Trigger"] = "ciChanged"
        return response


class RelationshipCreateView(RelationshipMixin, View):
    """POST: relate this CI to another in either direction of a relationship type."""

    cmdb_permissions = ("config_items.view_configurationitem", "config_items.add_relationship")

    def post(self, request, pk: int):
        ci = _get_ci(request.user, pk)
        form = RelationshipForm(request.POST, types=list(RelationshipType.objects.all()))
        form.fields["target"].queryset = ci_list(user=request.user)
        if form.is_valid():
            try:
                relationship_create(actor=request.user, **form.relationship_arguments(ci))
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("target", message)
            else:
                if not request.htmx:
                    messages.success(request, _("The relationship was added."))
                return self.respond(request, ci, changed=True)
        if not request.htmx:
            for error in form.errors.values():
                messages.error(request, " ".join(error))
        return self.respond(request, ci, form=form, changed=False)


class RelationshipDeleteView(RelationshipMixin, View):
    """POST: remove one relationship of this CI (kept in the history)."""

    cmdb_permissions = ("config_items.view_configurationitem", "config_items.delete_relationship")

    def post(self, request, pk: int, rel_pk: int):
        ci = _get_ci(request.user, pk)
        relationship = get_object_or_404(
            Relationship.objects.filter(pk=rel_pk).filter(source=ci)
            | Relationship.objects.filter(pk=rel_pk, target=ci)
        )
        relationship_delete(actor=request.user, relationship=relationship)
        if not request.htmx:
            messages.success(request, _("The relationship was removed."))
        return self.respond(request, ci, changed=True)


# ---------------------------------------------------------------- create / edit


class CIFormView(CMDBPermissionMixin, HtmxPartialMixin, TemplateView):
    """Shared by create and edit: the class's attribute fields, service errors on fields."""

    template_name = "config_items/ci_form.html"
    partial_template_name = "config_items/partials/ci_form.html"

    def get_ci_class(self) -> CIClass | None:
        raise NotImplementedError

    def get_instance(self) -> ConfigurationItem:
        raise NotImplementedError

    def save(self, form) -> ConfigurationItem:
        raise NotImplementedError

    def get_form(self, ci_class):
        return ConfigurationItemForm(
            self.request.POST or None,
            instance=self.get_instance(),
            schema=ci_class_schema(ci_class),
        )

    def get(self, request, *args, **kwargs):
        ci_class = self.get_ci_class()
        if ci_class is None:
            return self.render_class_picker()
        return self.render_to_response(self.get_context_data(form=self.get_form(ci_class)))

    def post(self, request, *args, **kwargs):
        ci_class = self.get_ci_class()
        if ci_class is None:
            return self.render_class_picker()
        form = self.get_form(ci_class)
        if form.is_valid():
            try:
                ci = self.save(form)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, self.success_message % {"name": ci.name})
                url = ci.get_absolute_url()
                if request.htmx:
                    return HttpResponseClientRedirect(url)
                return HttpResponseRedirect(url)
        return self.render_to_response(self.get_context_data(form=form))

    def render_class_picker(self):
        classes = CIClass.objects.select_related("parent").order_by("name")
        return TemplateResponse(
            self.request, "config_items/ci_class_picker.html", {"classes": classes}
        )


class CICreateView(CIFormView):
    """New CI: choose the class first (?ci_class=<code>), then fill in its attributes."""

    cmdb_permissions = (
        "config_items.view_configurationitem",
        "config_items.add_configurationitem",
    )
    success_message = _("“%(name)s” was created.")

    @cached_property
    def ci_class(self):
        code = self.request.GET.get("ci_class", "")
        return CIClass.objects.filter(code=code).first() if code else None

    def get_ci_class(self):
        return self.ci_class

    def get_instance(self):
        return ConfigurationItem(ci_class=self.ci_class)

    def save(self, form):
        return ci_create(
            actor=self.request.user, ci_class=self.ci_class, **form.service_arguments()
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            ci_class=self.ci_class,
            action_url=reverse("config_items:ci_create") + f"?ci_class={self.ci_class.code}",
            cancel_url=reverse("config_items:ci_list"),
        )
        return context


class CIUpdateView(CIFormView):
    """Edit a CI's fields and attributes (the status changes only by transitions)."""

    cmdb_permissions = (
        "config_items.view_configurationitem",
        "config_items.change_configurationitem",
    )
    success_message = _("“%(name)s” was saved.")

    @cached_property
    def ci(self):
        return _get_ci(self.request.user, self.kwargs["pk"])

    def get_ci_class(self):
        return self.ci.ci_class

    def get_instance(self):
        return self.ci

    def save(self, form):
        return ci_update(
            actor=self.request.user, ci=self.ci, replace_attributes=True, **form.service_arguments()
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            ci=self.ci,
            ci_class=self.ci.ci_class,
            action_url=reverse("config_items:ci_update", args=[self.ci.pk]),
            cancel_url=self.ci.get_absolute_url(),
        )
        return context


# ---------------------------------------------------------------- imports


def _upload_key(token: str) -> str:
    return f"cmdb:import-upload:{token}"


class ImportCreateView(CMDBPermissionMixin, TemplateView):
    """Import CIs from CSV/JSON: upload, confirm or edit the automatic column mapping,
    then the job runs in a worker. The uploaded file waits in Redis between the steps."""

    cmdb_permissions = (
        "config_items.view_configurationitem",
        "config_items.import_configurationitem",
    )
    template_name = "config_items/import_form.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("upload_form", ImportUploadForm())
        context["recent_jobs"] = (
            ImportJob.objects.select_related("ci_class", "created_by")
            .defer("content", "errors")
            .order_by("-created_at")[:10]
            if self.request.user.has_perm("config_items.view_importjob")
            else []
        )
        return context

    def post(self, request):
        if "token" in request.POST:
            return self.post_mapping(request)
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(upload_form=form))
        upload = form.cleaned_data["file"]
        content = upload.read()
        fmt = "json" if upload.name.lower().endswith(".json") else "csv"
        try:
            columns, rows = _parse(content, fmt)
        except DomainError as exc:
            form.add_error("file", str(exc.message))
            return self.render_to_response(self.get_context_data(upload_form=form))
        ci_class = form.cleaned_data["ci_class"]
        token = secrets.token_urlsafe(16)
        cache.set(
            _upload_key(token),
            {"user": request.user.pk, "name": upload.name, "content": content, "columns": columns},
            IMPORT_UPLOAD_SECONDS,
        )
        mapping = import_mapping_default(ci_class=ci_class, columns=columns)
        initial = {
            "token": token,
            "ci_class": ci_class.code,
            "key_field": form.cleaned_data["key_field"],
            "is_dry_run": form.cleaned_data["is_dry_run"],
            **{f"column_{i}": mapping.get(column, "") for i, column in enumerate(columns)},
        }
        mapping_form = self.mapping_form(None, columns, ci_class, initial=initial)
        return self.render_mapping(mapping_form, upload.name, len(rows), rows[:3])

    def mapping_form(self, data, columns, ci_class, **kwargs):
        return ImportMappingForm(
            data,
            columns=columns,
            ci_class=ci_class,
            schema=ci_class_schema(ci_class),
            types=list(RelationshipType.objects.all()),
            **kwargs,
        )

    def render_mapping(self, form, file_name, row_count, preview):
        context = {
            "mapping_form": form,
            "file_name": file_name,
            "row_count": row_count,
            "has_preview": bool(preview),
            "rows": [
                (field, [str(row.get(column, "")) for row in preview])
                for field, column in zip(form.column_fields, form.columns, strict=True)
            ],
        }
        return TemplateResponse(self.request, "config_items/import_mapping.html", context)

    def post_mapping(self, request):
        upload = cache.get(_upload_key(request.POST.get("token", "")))
        ci_class = CIClass.objects.filter(code=request.POST.get("ci_class", "")).first()
        if not upload or upload["user"] != request.user.pk or ci_class is None:
            messages.error(request, _("The uploaded file has expired. Please upload it again."))
            return HttpResponseRedirect(reverse("config_items:import_create"))
        form = self.mapping_form(request.POST, upload["columns"], ci_class)
        if form.is_valid():
            try:
                job = import_job_create(
                    actor=request.user,
                    ci_class=ci_class,
                    file_name=upload["name"],
                    content=upload["content"],
                    mapping=form.mapping(),
                    key_field=form.cleaned_data["key_field"],
                    is_dry_run=form.cleaned_data["is_dry_run"],
                )
            except DomainError as exc:
                form.add_error(None, str(exc.message))
                columns = {c: i for i, c in enumerate(upload["columns"])}
                for key, errors in exc.fields.items():
                    name = f"column_{columns[key]}" if key in columns else None
                    if key == "key_field":
                        name = "key_field"
                    for error in errors:
                        form.add_error(name, error)
            else:
                cache.delete(_upload_key(request.POST["token"]))
                return HttpResponseRedirect(reverse("config_items:import_detail", args=[job.pk]))
        return self.render_mapping(form, upload["name"], None, [])


class ImportDetailView(CMDBPermissionMixin, HtmxPartialMixin, TemplateView):
    """An import job: a progress bar polled every second while it runs, then its report."""

    cmdb_permissions = ("config_items.view_configurationitem", "config_items.view_importjob")
    template_name = "config_items/import_detail.html"
    partial_template_name = "config_items/partials/import_status.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = get_object_or_404(
            ImportJob.objects.select_related("ci_class", "created_by").defer("content"),
            pk=self.kwargs["pk"],
        )
        processed = import_progress(job)
        total = job.total_rows
        context.update(
            job=job,
            processed=processed,
            percent=min(100, round(100 * processed / total)) if total else job.progress_percent,
            is_running=job.status in (ImportStatus.PENDING, ImportStatus.RUNNING),
            can_apply=job.is_dry_run
            and job.status == ImportStatus.DONE
            and self.request.user.has_perm("config_items.import_configurationitem"),
        )
        return context


class ImportApplyView(CMDBPermissionMixin, View):
    """POST: run a finished dry run for real (a new job with the same file and mapping)."""

    cmdb_permissions = (
        "config_items.view_configurationitem",
        "config_items.import_configurationitem",
    )
    http_method_names = ["post"]

    def post(self, request, pk: int):
        job = get_object_or_404(ImportJob, pk=pk)
        try:
            applied = import_job_apply(actor=request.user, job=job)
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return HttpResponseRedirect(reverse("config_items:import_detail", args=[job.pk]))
        messages.success(request, _("The import is being applied."))
        return HttpResponseRedirect(reverse("config_items:import_detail", args=[applied.pk]))


# ---------------------------------------------------------------- baselines


class BaselineListView(CMDBPermissionMixin, TemplateView):
    """Baselines: named snapshots of sets of CIs, newest first."""

    cmdb_permissions = ("config_items.view_configurationitem", "config_items.view_baseline")
    template_name = "config_items/baseline_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        baselines = (
            Baseline.objects.select_related("created_by")
            .annotate(ci_count=Count("items"))
            .order_by("-created_at")
        )
        context["page"] = Paginator(baselines, PAGE_SIZE).get_page(self.request.GET.get("page"))
        return context


class BaselineCreateView(CMDBPermissionMixin, TemplateView):
    """Take a baseline of the CIs matching a CI-list filter, or of CIs given by id."""

    cmdb_permissions = ("config_items.view_configurationitem", "config_items.manage_baseline")
    template_name = "config_items/baseline_form.html"

    def _filtered(self, query: str):
        params = QueryDict(query)
        filterset = ConfigurationItemFilterSet(params, queryset=ci_list(user=self.request.user))
        return filterset.qs if filterset.is_valid() else ConfigurationItem.objects.none()

    def get(self, request):
        query = request.GET.get("filter", "")
        form = BaselineForm(initial={"filter": query, "ci_ids": request.GET.get("ci_ids", "")})
        return self.render_to_response(self.get_context_data(form=form, query=query))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = context.get("query", "")
        context["matching"] = self._filtered(query)[: MAX_BASELINE_CIS + 1].count()
        context["max_cis"] = MAX_BASELINE_CIS
        context["list_url"] = reverse("config_items:ci_list") + (f"?{query}" if query else "")
        return context

    def post(self, request):
        form = BaselineForm(request.POST)
        query = request.POST.get("filter", "")
        if form.is_valid():
            ids = form.cleaned_data["ci_ids"]
            if ids:
                cis = ci_list(user=request.user).filter(pk__in=ids)
            else:
                cis = self._filtered(form.cleaned_data["filter"])
            cis = list(cis.order_by("pk")[: MAX_BASELINE_CIS + 1])
            if len(cis) > MAX_BASELINE_CIS:
                form.add_error(
                    None,
                    _("A baseline holds at most %(max)s CIs; narrow the filter.")
                    % {"max": MAX_BASELINE_CIS},
                )
            else:
                try:
                    baseline = baseline_create(
                        actor=request.user,
                        name=form.cleaned_data["name"],
                        description=form.cleaned_data["description"],
                        cis=cis,
                    )
                except ValidationError as exc:
                    for key, errors in exc.message_dict.items():
                        field = {"cis": "ci_ids"}.get(key, key)
                        for error in errors:
                            form.add_error(field if field in form.fields else None, error)
                else:
                    messages.success(
                        request,
                        _("Baseline “%(name)s” was taken of %(count)s CIs.")
                        % {"name": baseline.name, "count": len(cis)},
                    )
                    return HttpResponseRedirect(
                        reverse("config_items:baseline_detail", args=[baseline.pk])
                    )
        return self.render_to_response(self.get_context_data(form=form, query=query))


class BaselineDetailView(CMDBPermissionMixin, TemplateView):
    """A baseline's CIs, each with a link to its differences since then."""

    cmdb_permissions = ("config_items.view_configurationitem", "config_items.view_baseline")
    template_name = "config_items/baseline_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        baseline = get_object_or_404(
            Baseline.objects.select_related("created_by"), pk=self.kwargs["pk"]
        )
        items = baseline.items.select_related("ci__ci_class").order_by("ci__name", "ci__pk")
        page = Paginator(items, PAGE_SIZE).get_page(self.request.GET.get("page"))
        labels = dict(CIStatus.choices)
        for item in page.object_list:
            item.status_then = labels.get(item.snapshot.get("status"), item.snapshot.get("status"))
        context.update(baseline=baseline, page=page)
        return context
