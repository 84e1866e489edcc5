from django.urls import path

from . import views

app_name = "config_items"

urlpatterns = [
    path("", views.CIListView.as_view(), name="ci_list"),
    path("new/", views.CICreateView.as_view(), name="ci_create"),
    path("lookup/", views.CILookupView.as_view(), name="ci_lookup"),
    path("<int:pk>/", views.CIDetailView.as_view(), name="ci_detail"),
    path("<int:pk>/edit/", views.CIUpdateView.as_view(), name="ci_update"),
    path("<int:pk>/transition/", views.CITransitionView.as_view(), name="ci_transition"),
    path("<int:pk>/impact/", views.CIImpactView.as_view(), name="ci_impact"),
    path("<int:pk>/baseline-diff/", views.CIBaselineDiffView.as_view(), name="ci_baseline_diff"),
    path(
        "<int:pk>/relationships/new/",
        views.RelationshipCreateView.as_view(),
        name="relationship_create",
    ),
    path(
        "<int:pk>/relationships/<int:rel_pk>/delete/",
        views.RelationshipDeleteView.as_view(),
        name="relationship_delete",
    ),
    path("import/", views.ImportCreateView.as_view(), name="import_create"),
    path("import/<int:pk>/", views.ImportDetailView.as_view(), name="import_detail"),
    path("import/<int:pk>/apply/", views.ImportApplyView.as_view(), name="import_apply"),
    path("baselines/", views.BaselineListView.as_view(), name="baseline_list"),
    path("baselines/new/", views.BaselineCreateView.as_view(), name="baseline_create"),
    path("baselines/<int:pk>/", views.BaselineDetailView.as_view(), name="baseline_detail"),
]
