from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.IncidentListView.as_view(), name="incident_list"),
    path("new/", views.IncidentCreateView.as_view(), name="incident_create"),
    path("bulk/", views.IncidentBulkView.as_view(), name="incident_bulk"),
    path("callers/", views.CallerLookupView.as_view(), name="caller_lookup"),
    path("agents/", views.AgentLookupView.as_view(), name="agent_lookup"),
    path("subcategories/", views.SubcategoryOptionsView.as_view(), name="subcategory_options"),
    path("assignees/", views.AssigneeOptionsView.as_view(), name="assignee_options"),
    path("filters/save/", views.SavedFilterSaveView.as_view(), name="saved_filter_save"),
    path(
        "filters/<int:pk>/delete/",
        views.SavedFilterDeleteView.as_view(),
        name="saved_filter_delete",
    ),
    path("for-ci/<int:ci_pk>/", views.CIIncidentsView.as_view(), name="ci_incidents"),
    path("<int:pk>/", views.IncidentDetailView.as_view(), name="incident_detail"),
    path("<int:pk>/edit/", views.IncidentUpdateView.as_view(), name="incident_update"),
    path("<int:pk>/affected/", views.IncidentAffectedView.as_view(), name="incident_affected"),
    path(
        "<int:pk>/transition/", views.IncidentTransitionView.as_view(), name="incident_transition"
    ),
    path("<int:pk>/assign/", views.IncidentAssignView.as_view(), name="incident_assign"),
    path("<int:pk>/comment/", views.IncidentCommentView.as_view(), name="incident_comment"),
    path("<int:pk>/watchers/", views.IncidentWatchView.as_view(), name="incident_watch"),
    path("<int:pk>/cis/", views.IncidentCIView.as_view(), name="incident_cis"),
    path(
        "<int:pk>/major/declare/",
        views.IncidentDeclareMajorView.as_view(),
        name="incident_declare_major",
    ),
    path(
        "<int:pk>/major/updates/",
        views.IncidentMajorUpdateView.as_view(),
        name="incident_major_update",
    ),
]
