import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0005_clock_schedule"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClockDue",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "clock",
                        "percent",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("due_at", models.DateTimeField(verbose_name="due at")),
                ("percent", models.PositiveSmallIntegerField(verbose_name="threshold (%)")),
                (
                    "clock",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="dues",
                        to="sla.clock",
                    ),
                ),
            ],
            options={
                "verbose_name": "SLA clock threshold due",
                "verbose_name_plural": "SLA clock thresholds due",
            },
        ),
        # One row per pending threshold of each schedule, in key order (the primary key
        # index is appended to, not split at random); the due_at index is built after.
        migrations.RunSQL(
            sql="""
                INSERT INTO sla_clockdue (clock_id, percent, due_at)
                SELECT s.clock_id, p.percent, p.moment
                FROM sla_clockschedule s
                CROSS JOIN LATERAL unnest(s.pending_percents, s.pending_moments)
                    AS p(percent, moment)
                ORDER BY s.clock_id, p.percent;
                ANALYZE sla_clockdue;
            """,
            reverse_sql="""
                INSERT INTO sla_clockschedule (clock_id, due_at, pending_percents, pending_moments)
                SELECT clock_id, (array_agg(due_at ORDER BY percent))[1],
                       array_agg(percent ORDER BY percent), array_agg(due_at ORDER BY percent)
                FROM sla_clockdue GROUP BY clock_id
            """,
        ),
        migrations.AddIndex(
            model_name="clockdue",
            index=models.Index(fields=["due_at"], name="sla_clockdue_due_idx"),
        ),
        # Every row is deleted once (marked by the tick, or replaced when its clock
        # changes), so dead rows pile up at the low end of the due_at index, the part the
        # tick and its probe read. The default (vacuum at 20 % dead: 600,000 rows for a
        # million clocks) lets them pile up for hours; 1 % keeps that end short.
        migrations.RunSQL(
            sql="ALTER TABLE sla_clockdue SET (autovacuum_vacuum_scale_factor = 0.01)",
            reverse_sql="ALTER TABLE sla_clockdue RESET (autovacuum_vacuum_scale_factor)",
        ),
        migrations.DeleteModel(
            name="ClockSchedule",
        ),
    ]
