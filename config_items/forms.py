"""Forms of the CMDB pages: CI create/edit with class attributes, relationships, imports,
baselines. Forms parse input only; the views hand `cleaned_data` to the services."""

import datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from accounts.models import User

from .choices import AttributeType
from .filters import ATTRIBUTE_PARAM_PREFIX
from .imports import (
    CHOICE_FIELDS,
    KEY_FIELDS,
    LOOKUP_FIELDS,
    MAX_IMPORT_BYTES,
    PLAIN_FIELDS,
    RELATIONSHIP_PREFIX,
)
from .models import AttributeDefinition, CIClass, ConfigurationItem, RelationshipType

ATTRIBUTE_FIELD_PREFIX = "attr_"

# Labels of the CI fields an import column can map to.
IMPORT_FIELD_LABELS = {
    "name": _("Name"),
    "serial_number": _("Serial number"),
    "asset_tag": _("Asset tag"),
    "notes": _("Notes"),
    "status": _("Status"),
    "environment": _("Environment"),
    "criticality": _("Criticality"),
    "owner": _("Owner (user name)"),
    "support_group": _("Support group (name)"),
    "location": _("Location (name)"),
    "organisations": _("Organisations (codes, ; separated)"),
}


def attribute_form_field(definition: AttributeDefinition, *, for_filter: bool = False):
    """The form field for one class attribute, with the widget its type calls for.

    Filters are never required and offer yes/no as a select, so "any" stays possible.
    """
    required = definition.is_required and not for_filter
    common = {
        "label": definition.label,
        "required": required,
        "help_text": "" if for_filter else definition.help_text,
    }
    kind = definition.type
    if kind == AttributeType.INTEGER:
        field = forms.IntegerField(**common)
    elif kind == AttributeType.DECIMAL:
        field = forms.DecimalField(**common)
    elif kind == AttributeType.BOOLEAN:
        if for_filter:
            field = forms.ChoiceField(
                choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))], **common
            )
        else:
            field = forms.BooleanField(**{**common, "required": False})
    elif kind == AttributeType.DATE:
        field = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    elif kind == AttributeType.CHOICE:
        blank = _("Any") if for_filter else "—"
        field = forms.ChoiceField(
            choices=[("", blank), *((str(c), str(c)) for c in definition.choices)], **common
        )
    elif kind == AttributeType.TEXT and not for_filter:
        field = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
    elif kind == AttributeType.IP_ADDRESS and not for_filter:
        field = forms.GenericIPAddressField(**common)
    elif kind == AttributeType.URL and not for_filter:
        field = forms.URLField(assume_scheme="https", **common)
    elif kind == AttributeType.EMAIL and not for_filter:
        field = forms.EmailField(**common)
    else:
        field = forms.CharField(max_length=500, **common)
    # Read by the template to draw the unit as an input-group suffix.
    field.unit = definition.unit
    field.attribute_key = definition.key
    return field


def _attribute_value(value):
    """A cleaned form value as the JSON the attribute schema validates."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value in ("", None):
        return None
    return value


class ConfigurationItemForm(forms.ModelForm):
    """The standard CI fields plus one field per attribute of the class schema."""

    class Meta:
        model = ConfigurationItem
        fields = [
            "name",
            "environment",
            "criticality",
            "owner",
            "support_group",
            "location",
            "organisations",
            "serial_number",
            "asset_tag",
            "notes",
        ]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "organisations": forms.SelectMultiple(attrs={"size": 4}),
        }

    def __init__(self, *args, schema: list[AttributeDefinition], **kwargs):
        super().__init__(*args, **kwargs)
        self.schema = schema
        self.fields["owner"].queryset = (
            User.objects.filter(is_active=True).exclude(groups__name=Role.CUSTOMER).distinct()
        )
        locations = ConfigurationItem.objects.filter(ci_class__is_location=True)
        if self.instance.pk:
            locations = locations.exclude(pk=self.instance.pk)
        self.fields["location"].queryset = locations.order_by("name")
        current = self.instance.attributes if self.instance.pk else {}
        for definition in schema:
            name = ATTRIBUTE_FIELD_PREFIX + definition.key
            self.fields[name] = attribute_form_field(definition)
            if definition.key in current and not self.is_bound:
                self.initial[name] = current[definition.key]

    @property
    def standard_fields(self):
        return [f for f in self if not f.name.startswith(ATTRIBUTE_FIELD_PREFIX)]

    @property
    def attribute_fields(self):
        return [f for f in self if f.name.startswith(ATTRIBUTE_FIELD_PREFIX)]

    def service_arguments(self) -> dict:
        """cleaned_data split the way ci_create / ci_update take it."""
        data = self.cleaned_data
        attributes = {
            d.key: _attribute_value(data.get(ATTRIBUTE_FIELD_PREFIX + d.key)) for d in self.schema
        }
        fields = {name: data[name] for name in self._meta.fields if name != "organisations"}
        return {
            **fields,
            "attributes": {k: v for k, v in attributes.items() if v is not None},
            "organisations": list(data["organisations"]),
        }

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError on the matching fields ("attributes.ram_gb")."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        # The name-per-class constraint reports on the whole form; it is about the name.
        taken = {str(c.violation_error_message) for c in ConfigurationItem._meta.constraints}
        for key, messages in error.message_dict.items():
            name = key
            if key == NON_FIELD_ERRORS and taken & set(messages):
                name = "name"
            elif key.startswith("attributes."):
                name = ATTRIBUTE_FIELD_PREFIX + key.removeprefix("attributes.")
            if name not in self.fields:
                name = None
            for message in messages:
                self.add_error(name, message)


class TransitionForm(forms.Form):
    transition = forms.CharField(max_length=40)


class RelationshipForm(forms.Form):
    """Relate this CI to another: type and direction in one select, then the other CI."""

    kind = forms.ChoiceField(label=_("Relationship"))
    target = forms.ModelChoiceField(
        queryset=ConfigurationItem.objects.all(),
        label=_("Other CI"),
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Search for a CI and choose it from the list."),
            "invalid_choice": _("Choose a CI from the list."),
        },
    )

    def __init__(self, *args, types: list[RelationshipType], **kwargs):
        super().__init__(*args, **kwargs)
        self.types = {t.code: t for t in types}
        choices = [("", _("Choose a relationship…"))]
        for rel_type in types:
            choices.append((f"{rel_type.code}:forward", rel_type.forward_name))
            if rel_type.reverse_name != rel_type.forward_name:
                choices.append((f"{rel_type.code}:reverse", rel_type.reverse_name))
        self.fields["kind"].choices = choices

    def relationship_arguments(self, ci: ConfigurationItem) -> dict:
        code, direction = self.cleaned_data["kind"].split(":")
        other = self.cleaned_data["target"]
        source, target = (ci, other) if direction == "forward" else (other, ci)
        return {"source": source, "target": target, "type": self.types[code]}


class ImportUploadForm(forms.Form):
    """Step 1 of an import: the file, the class and how existing CIs are matched."""

    file = forms.FileField(
        label=_("File"), help_text=_("CSV with a header row, or JSON: a list of objects.")
    )
    ci_class = forms.ModelChoiceField(
        queryset=CIClass.objects.order_by("name"), label=_("Class"), to_field_name="code"
    )
    key_field = forms.CharField(
        label=_("Match existing CIs by"),
        initial="name",
        max_length=60,
        help_text=_("name, serial_number, asset_tag or attributes.<key>."),
    )
    is_dry_run = forms.BooleanField(
        label=_("Dry run: check the file and report, change nothing"),
        required=False,
        initial=True,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".json")):
            raise ValidationError(_("Upload a .csv or .json file."))
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(_("The file is larger than 50 MB."))
        return upload


def import_target_choices(ci_class: CIClass, schema, types) -> list:
    """Grouped choices of what an import column can fill."""
    return [
        ("", _("— ignore this column —")),
        (
            _("Fields"),
            [
                (name, IMPORT_FIELD_LABELS[name])
                for name in (*PLAIN_FIELDS, *CHOICE_FIELDS, *LOOKUP_FIELDS)
            ],
        ),
        (
            _("Attributes of %(class)s") % {"class": ci_class.name},
            [(f"attributes.{d.key}", d.label) for d in schema],
        ),
        (
            _("Relationships (target CI names, ; separated)"),
            [(f"{RELATIONSHIP_PREFIX}{t.code}", t.forward_name) for t in types],
        ),
    ]


class ImportMappingForm(forms.Form):
    """Step 2: one select per column of the file, prefilled with the automatic mapping."""

    token = forms.CharField(widget=forms.HiddenInput)
    ci_class = forms.ModelChoiceField(
        queryset=CIClass.objects.all(), to_field_name="code", widget=forms.HiddenInput
    )
    key_field = forms.ChoiceField(label=_("Match existing CIs by"))
    is_dry_run = forms.BooleanField(
        label=_("Dry run: check the file and report, change nothing"), required=False
    )

    def __init__(self, *args, columns: list[str], ci_class: CIClass, schema, types, **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        targets = import_target_choices(ci_class, schema, types)
        self.fields["key_field"].choices = [
            *((k, IMPORT_FIELD_LABELS[k]) for k in KEY_FIELDS),
            *((f"attributes.{d.key}", d.label) for d in schema),
        ]
        for index, column in enumerate(columns):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=column, choices=targets, required=False
            )

    @property
    def column_fields(self):
        return [self[f"column_{i}"] for i in range(len(self.columns))]

    def mapping(self) -> dict[str, str]:
        return {
            column: self.cleaned_data[f"column_{i}"]
            for i, column in enumerate(self.columns)
            if self.cleaned_data.get(f"column_{i}")
        }


class BaselineForm(forms.Form):
    """A baseline of the CIs of the list's current filter, or of CIs given by id."""

    name = forms.CharField(label=_("Name"), max_length=150)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    ci_ids = forms.CharField(
        label=_("CI ids"),
        required=False,
        help_text=_("Comma-separated ids. Leave empty to take the CIs of the filter above."),
    )
    filter = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_ci_ids(self) -> list[int]:
        text = self.cleaned_data["ci_ids"].replace(";", ",").replace(" ", ",")
        try:
            return [int(part) for part in text.split(",") if part.strip()]
        except ValueError as exc:
            raise ValidationError(_("Enter ids separated by commas.")) from exc


def attribute_filter_fields(schema) -> dict[str, forms.Field]:
    """One filter input per attribute of the chosen class, named attr.<key>."""
    return {
        ATTRIBUTE_PARAM_PREFIX + d.key: attribute_form_field(d, for_filter=True) for d in schema
    }


class OneOfSelect(forms.Select):
    """A single select for a multiple-choice filter (the list filters on one value at a
    time; the API still takes several)."""

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)


def ci_filter_form_prepare(form) -> None:
    """Compact widgets and "any" labels for the CI list's filter bar."""
    form.fields["ci_class"].empty_label = _("All classes")
    form.fields["support_group"].empty_label = _("Any support group")
    form.fields["organisation"].empty_label = _("Any organisation")
    anys = {
        "status": _("Any status"),
        "environment": _("Any environment"),
        "criticality": _("Any criticality"),
    }
    for name, label in anys.items():
        field = form.fields[name]
        field.widget = OneOfSelect(choices=[("", label), *field.choices])
    form.fields["q"].widget = forms.TextInput(
        attrs={"type": "search", "placeholder": _("Name, serial or asset tag")}
    )
