"""core.api.permissions.ModelPermissions: the model's permissions per method, read from the
view's declared queryset without building the view's own query."""

import pytest
from rest_framework.request import Request

from core.api.permissions import ModelPermissions
from incidents.models import Incident


class _View:
    queryset = Incident.objects.none()
    built = 0

    def get_queryset(self):
        type(self).built += 1
        return Incident.objects.all()


class _Undeclared(_View):
    queryset = None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "allowed"), [("GET", True), ("HEAD", True), ("POST", True), ("DELETE", False)]
)
def test_the_declared_model_decides_without_building_the_views_query(rf, agent, method, allowed):
    request = Request(rf.generic(method, "/api/v1/incidents/"))
    request.user = agent  # views and adds incidents, never deletes them
    view = _View()

    assert ModelPermissions().has_permission(request, view) is allowed
    assert _View.built == 0


@pytest.mark.django_db
def test_a_view_without_a_declared_queryset_is_checked_from_get_queryset(rf, agent):
    request = Request(rf.post("/api/v1/incidents/"))
    request.user = agent

    assert ModelPermissions().has_permission(request, _Undeclared()) is True
    assert _Undeclared.built == 1
