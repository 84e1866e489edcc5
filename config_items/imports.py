"""CSV and JSON import of CIs: column mapping, dry run with per-row errors, idempotent
upserts by a chosen key, relationships by name, progress and a final report.

Rows are validated against the class schema one by one but written in batches
(bulk_create / bulk_update), so 100,000 rows import in well under a minute. The whole
apply is one transaction: an import that fails midway leaves the CMDB as it was. Progress
lives in Redis while the job runs (the transaction hides it from other connections).
"""

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

import pghistory
from django.core.cache import cache
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organisation, SupportGroup, User
from core.exceptions import DomainError

from .choices import CIStatus, Criticality, Environment, ImportFormat, ImportStatus
from .models import CIClass, ConfigurationItem, ImportJob, Relationship, RelationshipType
from .schema import ci_attributes_clean, ci_class_schema

MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_STORED_ERRORS = 1000
BATCH = 2000
RELATIONSHIP_PREFIX = "rel:"
KEY_FIELDS = ("name", "serial_number", "asset_tag")
PLAIN_FIELDS = ("name", "serial_number", "asset_tag", "notes")
CHOICE_FIELDS = {
    "status": CIStatus.values,
    "environment": Environment.values,
    "criticality": Criticality.values,
}
LOOKUP_FIELDS = ("owner", "support_group", "location", "organisations")


def _progress_key(job_id: int) -> str:
    return f"cmdb:import:{job_id}:progress"


def import_progress(job: ImportJob) -> int:
    """Rows processed so far: live from Redis while running, else from the job row."""
    if job.status == ImportStatus.RUNNING:
        return int(cache.get(_progress_key(job.pk)) or 0)
    return job.processed_rows


def _parse(content: bytes, fmt: str) -> tuple[list[str], list[dict[str, Any]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DomainError(
            gettext_lazy("The file is not UTF-8 text."), code="import_encoding"
        ) from exc
    if fmt == ImportFormat.CSV:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise DomainError(gettext_lazy("The CSV file has no header row."), code="import_empty")
        return list(reader.fieldnames), list(reader)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DomainError(
            gettext_lazy("The JSON file is not valid: %(error)s") % {"error": exc.msg},
            code="import_json",
        ) from exc
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise DomainError(
            gettext_lazy('The JSON file must hold a list of objects (or {"items": [...]}).'),
            code="import_json",
        )
    columns: list[str] = []
    for row in data:
        for key in row:
            if key not in columns:
                columns.append(key)
    return columns, data


def import_mapping_default(*, ci_class: CIClass, columns: list[str]) -> dict[str, str]:
    """Map columns to fields or attributes whose key or label matches, case-insensitively."""
    targets = {f: f for f in (*PLAIN_FIELDS, *CHOICE_FIELDS, *LOOKUP_FIELDS)}
    for definition in ci_class_schema(ci_class):
        targets[definition.key.lower()] = f"attributes.{definition.key}"
        targets[definition.label.lower()] = f"attributes.{definition.key}"
    mapping = {}
    for column in columns:
        normalised = column.strip().lower().replace(" ", "_")
        if column.startswith(RELATIONSHIP_PREFIX):
            mapping[column] = column
        elif normalised in targets:
            mapping[column] = targets[normalised]
        elif column.strip().lower() in targets:
            mapping[column] = targets[column.strip().lower()]
    return mapping


def _validate_mapping(ci_class: CIClass, mapping: dict[str, str], key_field: str) -> None:
    allowed = {*PLAIN_FIELDS, *CHOICE_FIELDS, *LOOKUP_FIELDS}
    attribute_keys = {d.key for d in ci_class_schema(ci_class)}
    type_codes = set(RelationshipType.objects.values_list("code", flat=True))
    errors = {}
    for column, target in mapping.items():
        if not target:
            continue
        if target.startswith("attributes."):
            ok = target.removeprefix("attributes.") in attribute_keys
        elif target.startswith(RELATIONSHIP_PREFIX):
            ok = target.removeprefix(RELATIONSHIP_PREFIX) in type_codes
        else:
            ok = target in allowed
        if not ok:
            errors[column] = [_("Unknown target “%(target)s”.") % {"target": target}]
    if "name" not in mapping.values():
        errors["mapping"] = [_("One column must map to the CI name.")]
    valid_keys = {*KEY_FIELDS, *(f"attributes.{k}" for k in attribute_keys)}
    if key_field not in valid_keys:
        errors["key_field"] = [_("Choose name, serial_number, asset_tag or an attribute.")]
    elif key_field not in mapping.values():
        errors["key_field"] = [_("No column is mapped to the matching key.")]
    if errors:
        raise DomainError(
            _("The column mapping is not valid."), code="import_mapping", fields=errors
        )


@transaction.atomic
def import_job_create(
    *,
    actor: User,
    ci_class: CIClass,
    file_name: str,
    content: bytes,
    mapping: dict[str, str] | None = None,
    key_field: str = "name",
    is_dry_run: bool = True,
) -> ImportJob:
    """Check the file and mapping, store the job and queue it for a worker."""
    lower = file_name.lower()
    if lower.endswith(".csv"):
        fmt = ImportFormat.CSV
    elif lower.endswith(".json"):
        fmt = ImportFormat.JSON
    else:
        raise DomainError(
            gettext_lazy("Upload a .csv or .json file."),
            code="import_file_type",
            fields={"file": [_("Upload a .csv or .json file.")]},
        )
    if len(content) > MAX_IMPORT_BYTES:
        raise DomainError(
            gettext_lazy("The file is larger than 50 MB."),
            code="import_too_large",
            fields={"file": [_("The file is larger than 50 MB.")]},
        )
    columns, rows = _parse(content, fmt)
    if mapping is None:
        mapping = import_mapping_default(ci_class=ci_class, columns=columns)
    missing = [c for c in mapping if c not in columns]
    if missing:
        raise DomainError(
            gettext_lazy("The file has no column named %(columns)s.")
            % {"columns": ", ".join(missing)},
            code="import_mapping",
        )
    _validate_mapping(ci_class, mapping, key_field)
    job = ImportJob.objects.create(
        ci_class=ci_class,
        format=fmt,
        source_name=file_name[:255],
        content=content,
        mapping=mapping,
        key_field=key_field,
        is_dry_run=is_dry_run,
        total_rows=len(rows),
        created_by=actor,
    )
    from .tasks import import_job_run_task  # noqa: PLC0415 - task module imports services

    transaction.on_commit(lambda: import_job_run_task.delay(job.pk))
    return job


@dataclass
class _Row:
    number: int
    key: Any
    values: dict[str, Any]
    attributes: dict[str, Any]
    organisations: list[str] | None
    relationships: dict[str, list[str]] = field(default_factory=dict)


class _Lookups:
    """Name → id maps for owners, groups, locations and organisations, loaded once."""

    def __init__(self, rows: list[dict], mapping: dict[str, str]):
        wanted: dict[str, set[str]] = {t: set() for t in LOOKUP_FIELDS}
        for row in rows:
            for column, target in mapping.items():
                if target in wanted and row.get(column):
                    for part in str(row[column]).split(";"):
                        if part.strip():
                            wanted[target].add(part.strip().lower())
        self.users = dict(
            User.objects.annotate(k=Lower("username"))
            .filter(k__in=wanted["owner"])
            .values_list("k", "pk")
        )
        self.groups = dict(
            SupportGroup.objects.annotate(k=Lower("name"))
            .filter(k__in=wanted["support_group"])
            .values_list("k", "pk")
        )
        self.locations = dict(
            ConfigurationItem.objects.filter(ci_class__is_location=True)
            .annotate(k=Lower("name"))
            .filter(k__in=wanted["location"])
            .values_list("k", "pk")
        )
        self.organisations = dict(
            Organisation.objects.annotate(k=Lower("code"))
            .filter(k__in=wanted["organisations"])
            .values_list("k", "pk")
        )


def _clean_row(number, raw, mapping, key_field, schema, lookups, errors) -> _Row | None:
    values: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    organisations = None
    relationships: dict[str, list[str]] = {}
    row_errors = []
    for column, target in mapping.items():
        if not target:
            continue
        value = raw.get(column)
        value = "" if value is None else value
        text = str(value).strip() if not isinstance(value, bool | int | float) else value
        if target.startswith("attributes."):
            attributes[target.removeprefix("attributes.")] = value
        elif target.startswith(RELATIONSHIP_PREFIX):
            names = [n.strip() for n in str(value).split(";") if n.strip()]
            relationships[target.removeprefix(RELATIONSHIP_PREFIX)] = names
        elif target in CHOICE_FIELDS:
            if text == "":
                continue
            if str(text).lower() not in CHOICE_FIELDS[target]:
                row_errors.append(
                    (target, _("“%(value)s” is not a valid choice.") % {"value": text})
                )
            else:
                values[target] = str(text).lower()
        elif target == "organisations":
            codes = [c.strip().lower() for c in str(value).split(";") if c.strip()]
            unknown = [c for c in codes if c not in lookups.organisations]
            if unknown:
                row_errors.append(
                    (target, _("Unknown organisation: %(codes)s.") % {"codes": ", ".join(unknown)})
                )
            organisations = [lookups.organisations[c] for c in codes if c in lookups.organisations]
        elif target in ("owner", "support_group", "location"):
            if text == "":
                values[f"{target}_id"] = None
                continue
            table = {
                "owner": lookups.users,
                "support_group": lookups.groups,
                "location": lookups.locations,
            }[target]
            pk = table.get(str(text).lower())
            if pk is None:
                row_errors.append((target, _("“%(value)s” was not found.") % {"value": text}))
            else:
                values[f"{target}_id"] = pk
        else:
            values[target] = str(text)
    if not values.get("name"):
        row_errors.append(("name", _("The name is empty.")))
    elif len(values["name"]) > 200:
        row_errors.append(("name", _("The name is longer than 200 characters.")))
    try:
        attributes = ci_attributes_clean(schema=schema, attributes=attributes)
    except Exception as exc:  # noqa: BLE001 - ValidationError with per-attribute messages
        for key, messages in getattr(exc, "message_dict", {"attributes": [str(exc)]}).items():
            row_errors.append((key, " ".join(messages)))
    if key_field.startswith("attributes."):
        key = attributes.get(key_field.removeprefix("attributes."))
    else:
        key = values.get(key_field)
    if key in (None, ""):
        row_errors.append((key_field, _("The matching key is empty.")))
    if row_errors:
        for field_name, message in row_errors:
            errors.append({"row": number, "field": field_name, "message": str(message)})
        return None
    if key_field == "name":
        key = str(key).lower()
    return _Row(number, key, values, attributes, organisations, relationships)


def _existing_by_key(ci_class: CIClass, key_field: str, keys: list) -> dict[Any, ConfigurationItem]:
    qs = ConfigurationItem.objects.filter(ci_class=ci_class)
    if key_field == "name":
        found = qs.annotate(k=Lower("name")).filter(k__in=keys)
        return {ci.k: ci for ci in found}
    if key_field.startswith("attributes."):
        attribute = key_field.removeprefix("attributes.")
        found = qs.filter(**{f"attributes__{attribute}__in": keys})
        return {ci.attributes.get(attribute): ci for ci in found}
    found = qs.filter(**{f"{key_field}__in": keys})
    return {getattr(ci, key_field): ci for ci in found}


_UPDATABLE = [
    "name",
    "serial_number",
    "asset_tag",
    "notes",
    "environment",
    "criticality",
    "owner_id",
    "support_group_id",
    "location_id",
    "attributes",
]


def _apply_batch(job, rows: list[_Row], report: dict, dry_run: bool) -> list[tuple[int, _Row]]:
    """Upsert one batch; returns (ci id, row) pairs for the relationship pass."""
    existing = _existing_by_key(job.ci_class, job.key_field, [r.key for r in rows])
    to_create, to_update, resolved = [], [], []
    seen_keys = set()
    for row in rows:
        if row.key in seen_keys:
            report["errors"].append(
                {
                    "row": row.number,
                    "field": job.key_field,
                    "message": _("The same key appears twice in the file."),
                }
            )
            continue
        seen_keys.add(row.key)
        ci = existing.get(row.key)
        if ci is None:
            ci = ConfigurationItem(
                ci_class=job.ci_class,
                attributes=row.attributes,
                status=row.values.get("status", CIStatus.LIVE),
                **{k: v for k, v in row.values.items() if k != "status"},
            )
            to_create.append((ci, row))
            continue
        changed = False
        for name, value in row.values.items():
            if name == "status":
                continue  # lifecycle changes go through transitions, not imports
            if getattr(ci, name) != value:
                setattr(ci, name, value)
                changed = True
        merged = {**ci.attributes, **row.attributes}
        if merged != ci.attributes:
            ci.attributes = merged
            changed = True
        if changed:
            to_update.append(ci)
        else:
            report["unchanged"] += 1
        resolved.append((ci.pk, row))
    report["created"] += len(to_create)
    report["updated"] += len(to_update)
    if dry_run:
        # New CIs have no id yet; the relationship pass still checks their targets.
        resolved += [(None, row) for _ci, row in to_create]
    else:
        created = ConfigurationItem.objects.bulk_create([ci for ci, _row in to_create])
        resolved += [(ci.pk, row) for ci, (_ci, row) in zip(created, to_create, strict=True)]
        if to_update:
            ConfigurationItem.objects.bulk_update(to_update, _UPDATABLE + ["updated_at"])
        through = ConfigurationItem.organisations.through
        with_orgs = [(pk, row) for pk, row in resolved if row.organisations is not None]
        if with_orgs:
            through.objects.filter(configurationitem_id__in=[pk for pk, _r in with_orgs]).delete()
            through.objects.bulk_create(
                [
                    through(configurationitem_id=pk, organisation_id=org)
                    for pk, row in with_orgs
                    for org in row.organisations
                ],
                ignore_conflicts=True,
            )
    return resolved


def _apply_relationships(resolved: list[tuple[int, _Row]], report: dict, dry_run: bool) -> None:
    types = dict(RelationshipType.objects.values_list("code", "pk"))
    names = {
        n.lower()
        for _pk, row in resolved
        for targets in row.relationships.values()
        for n in targets
    }
    if not names:
        return
    by_name: dict[str, list[int | None]] = {}
    for pk, key in (
        ConfigurationItem.objects.annotate(k=Lower("name"))
        .filter(k__in=names)
        .values_list("pk", "k")
    ):
        by_name.setdefault(key, []).append(pk)
    if dry_run:
        # CIs the file would create count as targets too.
        for pk, row in resolved:
            if pk is None and row.values["name"].lower() not in by_name:
                by_name[row.values["name"].lower()] = [None]
    new = []
    for pk, row in resolved:
        for code, targets in row.relationships.items():
            for target in targets:
                matches = by_name.get(target.lower(), [])
                if len(matches) != 1:
                    message = (
                        _("No CI is named “%(name)s”.")
                        if not matches
                        else _("Several CIs are named “%(name)s”.")
                    )
                    report["errors"].append(
                        {
                            "row": row.number,
                            "field": f"rel:{code}",
                            "message": message % {"name": target},
                        }
                    )
                    continue
                if matches[0] != pk or pk is None:
                    new.append(
                        Relationship(source_id=pk, target_id=matches[0], type_id=types[code])
                    )
    if dry_run:
        report["relationships"] += len(new)
        return
    for start in range(0, len(new), BATCH):
        created = Relationship.objects.bulk_create(
            new[start : start + BATCH], ignore_conflicts=True
        )
        report["relationships"] += len(created)


def import_job_run(*, job_id: int) -> ImportJob:
    """Run an import job (from a Celery worker): validate, upsert, relate, report.

    Idempotent: a job that already finished is returned untouched, and importing the same
    file twice leaves every row "unchanged" the second time.
    """
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("ci_class").get(pk=job_id)
        if job.status != ImportStatus.PENDING:
            return job
        job.status = ImportStatus.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])
    report = {"created": 0, "updated": 0, "unchanged": 0, "relationships": 0, "errors": []}
    try:
        _columns, raw_rows = _parse(bytes(job.content), job.format)
        schema = ci_class_schema(job.ci_class)
        lookups = _Lookups(raw_rows, job.mapping)
        with transaction.atomic(), pghistory.context(user=job.created_by_id, import_job=job.pk):
            resolved = []
            for start in range(0, len(raw_rows), BATCH):
                batch = []
                for offset, raw in enumerate(raw_rows[start : start + BATCH]):
                    number = start + offset + 1
                    row = _clean_row(
                        number, raw, job.mapping, job.key_field, schema, lookups, report["errors"]
                    )
                    if row is not None:
                        batch.append(row)
                resolved += _apply_batch(job, batch, report, job.is_dry_run)
                cache.set(_progress_key(job.pk), min(start + BATCH, len(raw_rows)), 3600)
            _apply_relationships(resolved, report, job.is_dry_run)
        job.status = ImportStatus.DONE
    except DomainError as exc:
        job.status = ImportStatus.FAILED
        job.failure = str(exc.message)
    except Exception as exc:
        job.status = ImportStatus.FAILED
        job.failure = _("The import failed: %(error)s") % {"error": type(exc).__name__}
        raise
    finally:
        errors = sorted(report["errors"], key=lambda e: e["row"])
        job.processed_rows = job.total_rows if job.status == ImportStatus.DONE else 0
        job.created_count = report["created"]
        job.updated_count = report["updated"]
        job.unchanged_count = report["unchanged"]
        job.relationship_count = report["relationships"]
        job.error_count = len({e["row"] for e in errors})
        job.errors = errors[:MAX_STORED_ERRORS]
        job.finished_at = timezone.now()
        job.save(
            update_fields=[
                "status",
                "failure",
                "processed_rows",
                "created_count",
                "updated_count",
                "unchanged_count",
                "relationship_count",
                "error_count",
                "errors",
                "finished_at",
            ]
        )
        cache.delete(_progress_key(job.pk))
    return job


def import_job_apply(*, actor: User, job: ImportJob) -> ImportJob:
    """Apply a finished dry run: a new job with the same file, class, mapping and key.

    The dry run stays as it was (its report is the record of what was checked); the new
    job runs in a worker like any other import.
    """
    if not job.is_dry_run or job.status != ImportStatus.DONE:
        raise DomainError(
            gettext_lazy("Only a finished dry run can be applied."), code="import_not_dry_run"
        )
    return import_job_create(
        actor=actor,
        ci_class=job.ci_class,
        file_name=job.source_name,
        content=bytes(job.content),
        mapping=job.mapping,
        key_field=job.key_field,
        is_dry_run=False,
    )
