from django.db import migrations

# Every write to the priority matrix moves the `incidents` configuration version
# (core.ConfigVersion), which the per-process copy in incidents.services is checked against.
CREATE = """
CREATE TRIGGER incidents_config_version
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON incidents_prioritymatrix
FOR EACH STATEMENT EXECUTE FUNCTION core_config_version_bump('incidents');
INSERT INTO core_configversion (area, version)
VALUES ('incidents', nextval('core_configversion_seq')) ON CONFLICT (area) DO NOTHING;
"""
DROP = """
DELETE FROM core_configversion WHERE area = 'incidents';
DROP TRIGGER incidents_config_version ON incidents_prioritymatrix;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_index_trim"),
        ("incidents", "0005_created_at_default"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
