import csv
import json

from django.db import transaction
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from config_items.filters import ConfigurationItemFilterSet, RelationshipFilterSet
from config_items.imports import import_job_create
from config_items.models import (
    AttributeDefinition,
    Baseline,
    ConfigurationItem,
    ImportJob,
    Relationship,
    RelationshipType,
)
from config_items.selectors import (
    ci_affected_services,
    ci_class_list,
    ci_get,
    ci_history,
    ci_impact,
    ci_list,
    impact_graph,
)
from config_items.services import (
    baseline_create,
    baseline_diff,
    ci_create,
    ci_transition,
    ci_update,
    relationship_create,
    relationship_delete,
)
from core.api.permissions import ActionPermissions, ModelPermissions

from . import serializers as s

EXPORT_FIELDS = [
    "id",
    "name",
    "ci_class",
    "status",
    "environment",
    "criticality",
    "owner",
    "support_group",
    "organisations",
    "location",
    "serial_number",
    "asset_tag",
]


class _Echo:
    def write(self, value):
        return value


class CIClassViewSet(viewsets.ModelViewSet):
    """CI classes and their attribute schemas (reference data: plain ModelViewSet)."""

    queryset = ci_class_list()
    serializer_class = s.CIClassSerializer
    lookup_field = "code"
    pagination_class = None
    http_method_names = ["get", "post", "patch", "head", "options"]


class AttributeDefinitionViewSet(viewsets.ModelViewSet):
    queryset = AttributeDefinition.objects.select_related("ci_class")
    serializer_class = s.AttributeDefinitionSerializer
    filterset_fields = ["ci_class"]


class RelationshipTypeViewSet(viewsets.ModelViewSet):
    queryset = RelationshipType.objects.all()
    serializer_class = s.RelationshipTypeSerializer
    lookup_field = "code"
    pagination_class = None
    http_method_names = ["get", "post", "patch", "head", "options"]


def _ci_input(data: dict) -> dict:
    """Serializer output → service keyword arguments."""
    return {k: v for k, v in data.items() if k not in ("ci_class", "attributes", "organisations")}


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "attr.<key>", str, description="Filter by a class attribute, e.g. attr.os=Linux"
            )
        ]
    )
)
class ConfigurationItemViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Configuration items. Customers see the services of their own organisation only."""

    serializer_class = s.ConfigurationItemSerializer
    permission_classes = [ModelPermissions, ActionPermissions]
    filterset_class = ConfigurationItemFilterSet
    ordering_fields = ["name", "updated_at", "id"]
    queryset = ConfigurationItem.objects.none()
    action_permissions = {
        "create": ["config_items.add_configurationitem"],
        "partial_update": ["config_items.change_configurationitem"],
        "build": ["config_items.change_status_configurationitem"],
        "go_live": ["config_items.change_status_configurationitem"],
        "start_maintenance": ["config_items.change_status_configurationitem"],
        "retire": ["config_items.change_status_configurationitem"],
        "impact": ["config_items.view_relationship"],
        "history": ["config_items.view_relationship"],
        "graph": ["config_items.view_relationship"],
        "export": ["config_items.view_configurationitem"],
    }

    def get_queryset(self):
        return ci_list(user=self.request.user).prefetch_related("organisations")

    def get_object(self):
        try:
            return ci_get(user=self.request.user, pk=int(self.kwargs["pk"]))
        except (ConfigurationItem.DoesNotExist, ValueError):
            raise Http404 from None

    @extend_schema(
        request=s.ConfigurationItemInputSerializer, responses={201: s.ConfigurationItemSerializer}
    )
    def create(self, request):
        data = s.ConfigurationItemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        ci = ci_create(
            actor=request.user,
            ci_class=values["ci_class"],
            attributes=values.get("attributes", {}),
            organisations=values.get("organisations"),
            **_ci_input(values),
        )
        return Response(
            s.ConfigurationItemSerializer(ci, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=s.ConfigurationItemInputSerializer, responses=s.ConfigurationItemSerializer
    )
    def partial_update(self, request, pk=None):
        ci = self.get_object()
        data = s.ConfigurationItemInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.pop("status", None)
        ci = ci_update(
            actor=request.user,
            ci=ci,
            attributes=values.pop("attributes", None),
            organisations=values.pop("organisations", None),
            **values,
        )
        return Response(s.ConfigurationItemSerializer(ci, context={"request": request}).data)

    def _impact(self, request, ci: ConfigurationItem):
        """The traversal the query string asks for (direction, depth, types)."""
        query = s.ImpactQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        types = [t for t in params.get("types", "").split(",") if t] or None
        return ci_impact(
            ci_ids=[ci.pk], direction=params["direction"], depth=params["depth"], type_codes=types
        )

    def _transition(self, request, name):
        ci = ci_transition(actor=request.user, ci=self.get_object(), transition=name)
        return Response(s.ConfigurationItemSerializer(ci, context={"request": request}).data)

    @extend_schema(request=None, responses=s.ConfigurationItemSerializer)
    @action(detail=True, methods=["post"])
    def build(self, request, pk=None):
        return self._transition(request, "build")

    @extend_schema(request=None, responses=s.ConfigurationItemSerializer)
    @action(detail=True, methods=["post"], url_path="go-live")
    def go_live(self, request, pk=None):
        return self._transition(request, "go_live")

    @extend_schema(request=None, responses=s.ConfigurationItemSerializer)
    @action(detail=True, methods=["post"], url_path="start-maintenance")
    def start_maintenance(self, request, pk=None):
        return self._transition(request, "start_maintenance")

    @extend_schema(request=None, responses=s.ConfigurationItemSerializer)
    @action(detail=True, methods=["post"])
    def retire(self, request, pk=None):
        return self._transition(request, "retire")

    @extend_schema(parameters=[s.ImpactQuerySerializer], responses=s.ImpactSerializer)
    @action(detail=True, methods=["get"])
    def impact(self, request, pk=None):
        """Downstream (what breaks if this fails) or upstream (what this depends on)."""
        ci = self.get_object()
        impact = self._impact(request, ci)
        summary = ci_affected_services(ci_ids=[ci.pk], depth=impact.depth, impact=impact)
        cis = ConfigurationItem.objects.in_bulk(impact.ci_ids)
        items = sorted(
            ({"ci": cis[pk], "distance": d} for pk, d in impact.distances.items() if pk in cis),
            key=lambda item: (item["distance"], item["ci"].name),
        )
        body = {
            "direction": impact.direction,
            "depth": impact.depth,
            "count": len(items),
            "items": items,
            "affected_services": summary.services,
            "affected_organisations": [o.code for o in summary.organisations],
        }
        return Response(s.ImpactSerializer(body).data)

    @extend_schema(parameters=[s.ImpactQuerySerializer], responses=dict)
    @action(detail=True, methods=["get"])
    def graph(self, request, pk=None):
        """Nodes and edges around a CI for the impact graph (cytoscape elements)."""
        return Response(impact_graph(impact=self._impact(request, self.get_object())))

    @extend_schema(responses=s.HistoryEntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        return Response(s.HistoryEntrySerializer(ci_history(ci=self.get_object()), many=True).data)

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=False, methods=["get"])
    def export(self, request):
        """The filtered list as CSV (same filters as the list), streamed."""
        queryset = self.filter_queryset(self.get_queryset()).order_by("pk")
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow([*EXPORT_FIELDS, "attributes"])
            for ci in queryset.iterator(chunk_size=2000):
                yield writer.writerow(
                    [
                        ci.pk,
                        ci.name,
                        ci.ci_class.code,
                        ci.status,
                        ci.environment,
                        ci.criticality,
                        ci.owner.username if ci.owner_id else "",
                        ci.support_group.name if ci.support_group_id else "",
                        ";".join(o.code for o in ci.organisations.all()),
                        ci.location.name if ci.location_id else "",
                        ci.serial_number,
                        ci.asset_tag,
                        json.dumps(ci.attributes, ensure_ascii=False),
                    ]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="configuration-items.csv"'
        return response


class RelationshipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.RelationshipSerializer
    filterset_class = RelationshipFilterSet
    queryset = Relationship.objects.select_related(
        "type", "source__ci_class", "target__ci_class"
    ).order_by("pk")

    @extend_schema(request=s.RelationshipInputSerializer, responses={201: s.RelationshipSerializer})
    def create(self, request):
        data = s.RelationshipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        relationship = relationship_create(actor=request.user, **data.validated_data)
        return Response(s.RelationshipSerializer(relationship).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        relationship_delete(actor=self.request.user, relationship=instance)


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """CSV/JSON imports: POST a file (multipart), then poll the job for progress and report."""

    serializer_class = s.ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    permission_classes = [ModelPermissions, ActionPermissions]
    action_permissions = {"create": ["config_items.import_configurationitem"]}

    def get_queryset(self):
        return ImportJob.objects.select_related("ci_class").defer("content")

    @extend_schema(request=s.ImportJobInputSerializer, responses={202: s.ImportJobSerializer})
    def create(self, request):
        data = s.ImportJobInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        upload = values["file"]
        job = import_job_create(
            actor=request.user,
            ci_class=values["ci_class"],
            file_name=upload.name,
            content=upload.read(),
            mapping=values.get("mapping"),
            key_field=values["key_field"],
            is_dry_run=values["dry_run"],
        )
        return Response(s.ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class BaselineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.BaselineSerializer
    queryset = Baseline.objects.select_related("created_by").order_by("-created_at")
    permission_classes = [ModelPermissions, ActionPermissions]
    action_permissions = {"create": ["config_items.manage_baseline"]}

    @extend_schema(request=s.BaselineInputSerializer, responses={201: s.BaselineSerializer})
    def create(self, request):
        data = s.BaselineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            baseline = baseline_create(actor=request.user, **data.validated_data)
        return Response(s.BaselineSerializer(baseline).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.BaselineDiffSerializer(many=True))
    @action(detail=True, methods=["get"], url_path=r"diff/(?P<ci_id>\d+)")
    def diff(self, request, pk=None, ci_id=None):
        """How a CI differs now from its state in this baseline."""
        baseline = self.get_object()
        ci = get_object_or_404(ci_list(user=request.user), pk=ci_id)
        return Response(
            s.BaselineDiffSerializer(baseline_diff(baseline=baseline, ci=ci), many=True).data
        )
