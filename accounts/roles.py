"""Role definitions: which permissions each role (a Django group) holds.

Applied by `manage.py apply_roles`; never edited by hand in the admin, so the rights of
every role are reviewed in code (ISO/IEC 20000-1 7.2 roles and responsibilities). As
process apps arrive they add their model and per-transition permissions here.
"""

from .choices import Role

_READ_REFERENCE = [
    "accounts.view_organisation",
    "accounts.view_organisationcontact",
    "accounts.view_supportgroup",
    "accounts.view_user",
]

_TICKET_WORK = [
    "accounts.access_workspace",
    "core.view_comment",
    "core.add_comment",
    "core.view_attachment",
    "core.add_attachment",
    "core.view_ticketevent",
]

_CMDB_READ = [
    "config_items.view_configurationitem",
    "config_items.view_ciclass",
    "config_items.view_attributedefinition",
    "config_items.view_relationship",
    "config_items.view_relationshiptype",
    "config_items.view_baseline",
]

_CMDB_WORK = [
    *_CMDB_READ,
    "config_items.add_configurationitem",
    "config_items.change_configurationitem",
    "config_items.add_relationship",
    "config_items.delete_relationship",
]

_CMDB_MANAGE = [
    *_CMDB_WORK,
    "config_items.change_status_configurationitem",
    "config_items.import_configurationitem",
    "config_items.view_importjob",
    "config_items.add_importjob",
    "config_items.manage_baseline",
    "config_items.add_baseline",
]

_CMDB_ADMIN = [
    *_CMDB_MANAGE,
    "config_items.add_ciclass",
    "config_items.change_ciclass",
    "config_items.add_attributedefinition",
    "config_items.change_attributedefinition",
    "config_items.delete_attributedefinition",
    "config_items.add_relationshiptype",
    "config_items.change_relationshiptype",
]

_INCIDENT_WORK = [
    "incidents.view_incident",
    "incidents.add_incident",
    "incidents.change_incident",
    "incidents.assign_incident",
    "incidents.start_incident",
    "incidents.pend_incident",
    "incidents.resume_incident",
    "incidents.resolve_incident",
    "incidents.close_incident",
    "incidents.reopen_incident",
    "incidents.view_category",
    "incidents.view_prioritymatrix",
    "incidents.view_assignmentrule",
    "incidents.view_majorincidentupdate",
    "incidents.view_satisfactionrating",
]

_INCIDENT_MANAGE = [
    *_INCIDENT_WORK,
    "incidents.cancel_incident",
    "incidents.declare_major_incident",
    "incidents.add_majorincidentupdate",
    "incidents.add_assignmentrule",
    "incidents.change_assignmentrule",
    "incidents.delete_assignmentrule",
]

_INCIDENT_ADMIN = [
    *_INCIDENT_MANAGE,
    "incidents.add_category",
    "incidents.change_category",
    "incidents.change_prioritymatrix",
]

# Service level management (sla): agents read definitions and clocks; managers and
# administrators maintain agreements, targets, calendars and outages. Clocks, their events
# and rollups are written by the engine only, so no role may add, change or delete them.
_SLA_READ = [
    "sla.view_agreement",
    "sla.view_target",
    "sla.view_escalationaction",
    "sla.view_businesscalendar",
    "sla.view_workinginterval",
    "sla.view_calendarday",
    "sla.view_serviceoutage",
    "sla.view_clock",
    "sla.view_clockevent",
    "sla.view_attainmentrollup",
]

_SLA_MANAGE = [
    *_SLA_READ,
    "sla.add_agreement",
    "sla.change_agreement",
    "sla.delete_agreement",
    "sla.add_target",
    "sla.change_target",
    "sla.delete_target",
    "sla.add_escalationaction",
    "sla.change_escalationaction",
    "sla.delete_escalationaction",
    "sla.add_businesscalendar",
    "sla.change_businesscalendar",
    "sla.delete_businesscalendar",
    "sla.add_workinginterval",
    "sla.change_workinginterval",
    "sla.delete_workinginterval",
    "sla.add_calendarday",
    "sla.change_calendarday",
    "sla.delete_calendarday",
    "sla.add_serviceoutage",
    "sla.change_serviceoutage",
    "sla.delete_serviceoutage",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.CUSTOMER: [
        "accounts.access_portal",
        "accounts.view_organisation",
        "core.view_comment",
        "core.add_comment",
        "core.view_attachment",
        "core.add_attachment",
        # Row visibility narrows these to the customer's own (organisation's) records.
        "config_items.view_configurationitem",
        "incidents.view_incident",
        "incidents.add_incident",
    ],
    Role.AGENT: [*_READ_REFERENCE, *_TICKET_WORK, *_CMDB_WORK, *_INCIDENT_WORK, *_SLA_READ],
    Role.MANAGER: [
        *_READ_REFERENCE,
        *_TICKET_WORK,
        *_CMDB_MANAGE,
        *_INCIDENT_MANAGE,
        *_SLA_MANAGE,
        "accounts.view_dashboard",
        "accounts.change_supportgroup",
        "accounts.add_supportgroupmembership",
        "accounts.delete_supportgroupmembership",
        "accounts.view_supportgroupmembership",
    ],
    Role.ADMINISTRATOR: [
        *_READ_REFERENCE,
        *_TICKET_WORK,
        *_CMDB_ADMIN,
        *_INCIDENT_ADMIN,
        *_SLA_MANAGE,
        "accounts.view_dashboard",
        "accounts.manage_api_tokens",
        "accounts.view_apitoken",
        "accounts.add_apitoken",
        "accounts.change_apitoken",
        "accounts.add_user",
        "accounts.change_user",
        "accounts.add_organisation",
        "accounts.change_organisation",
        "accounts.add_organisationcontact",
        "accounts.change_organisationcontact",
        "accounts.delete_organisationcontact",
        "accounts.add_supportgroup",
        "accounts.change_supportgroup",
        "accounts.add_supportgroupmembership",
        "accounts.delete_supportgroupmembership",
        "accounts.view_supportgroupmembership",
        "auth.view_group",
    ],
}

# Roles whose members may sign in to the Django admin pages.
STAFF_ROLES = frozenset({Role.ADMINISTRATOR})
