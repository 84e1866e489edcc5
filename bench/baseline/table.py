"""Create the yardstick's table if it is missing: python -m bench.baseline.table"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.baseline.settings"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from bench.baseline.models import Note  # noqa: E402

if Note._meta.db_table not in connection.introspection.table_names():
    with connection.schema_editor() as editor:
        editor.create_model(Note)
