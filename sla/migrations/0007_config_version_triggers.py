from django.db import migrations

# The tables SLA matching and calendar specs are read from: every write to one of them
# moves the `sla` configuration version (core.ConfigVersion), which the per-process copy in
# sla.services is checked against.
TABLES = [
    "sla_agreement",
    "sla_agreement_organisations",
    "sla_agreement_services",
    "sla_agreement_support_groups",
    "sla_target",
    "sla_target_categories",
    "sla_target_organisations",
    "sla_target_services",
    "sla_businesscalendar",
    "sla_workinginterval",
    "sla_calendarday",
]

CREATE = "".join(
    f"CREATE TRIGGER sla_config_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {t} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION core_config_version_bump('sla');\n"
    for t in TABLES
)
# The area's first version, so the copy can be kept before anything is edited.
CREATE += (
    "INSERT INTO core_configversion (area, version) "
    "VALUES ('sla', nextval('core_configversion_seq')) ON CONFLICT (area) DO NOTHING;\n"
)
DROP = "DELETE FROM core_configversion WHERE area = 'sla';\n" + "".join(
    f"DROP TRIGGER sla_config_version ON {t};\n" for t in TABLES
)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_config_version"),
        ("sla", "0006_clock_due"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
