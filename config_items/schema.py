"""Class attribute schemas: inheritance and validation of CI attribute values."""

import datetime
import ipaddress
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils.translation import gettext as _

from .choices import AttributeType
from .models import AttributeDefinition, CIClass


def ci_class_ancestors(ci_class: CIClass) -> list[CIClass]:
    """The class and its ancestors, root last; a cycle in the tree is refused."""
    chain, seen = [], set()
    node = ci_class
    while node is not None:
        if node.pk in seen:
            raise ValidationError(_("The class hierarchy contains a cycle."))
        seen.add(node.pk)
        chain.append(node)
        node = node.parent
    return chain


def ci_class_descendant_ids(ci_class_id: int) -> list[int]:
    """The class and all its subclasses (the tree is small: one query, walked in memory)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in CIClass.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    result, stack = [], [ci_class_id]
    while stack:
        pk = stack.pop()
        if pk in result:
            continue
        result.append(pk)
        stack.extend(children.get(pk, []))
    return result


def ci_class_schema(ci_class: CIClass) -> list[AttributeDefinition]:
    """Effective attribute definitions: inherited from ancestors, overridden by subclasses."""
    chain = ci_class_ancestors(ci_class)
    by_key: dict[str, AttributeDefinition] = {}
    definitions = AttributeDefinition.objects.filter(ci_class__in=chain)
    depth = {c.pk: i for i, c in enumerate(chain)}
    for definition in sorted(definitions, key=lambda d: -depth[d.ci_class_id]):
        by_key[definition.key] = definition
    return sorted(by_key.values(), key=lambda d: (d.order, d.key))


def _coerce(definition: AttributeDefinition, value):
    kind = definition.type
    if kind in (AttributeType.STRING, AttributeType.TEXT):
        text = str(value).strip()
        if kind == AttributeType.STRING and len(text) > 500:
            raise ValidationError(_("At most 500 characters."))
        return text
    if kind == AttributeType.INTEGER:
        if isinstance(value, bool):
            raise ValidationError(_("Enter a whole number."))
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValidationError(_("Enter a whole number.")) from exc
        if number != number.to_integral_value():
            raise ValidationError(_("Enter a whole number."))
        return int(number)
    if kind == AttributeType.DECIMAL:
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValidationError(_("Enter a number.")) from exc
        if not number.is_finite():
            raise ValidationError(_("Enter a number."))
        return float(number)
    if kind == AttributeType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "yes", "1", "y", "是"}:
            return True
        if text in {"false", "no", "0", "n", "否"}:
            return False
        raise ValidationError(_("Enter yes or no."))
    if kind == AttributeType.DATE:
        try:
            return datetime.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError as exc:
            raise ValidationError(_("Enter a date as YYYY-MM-DD.")) from exc
    if kind == AttributeType.CHOICE:
        text = str(value).strip()
        if text not in definition.choices:
            raise ValidationError(
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": text, "choices": ", ".join(map(str, definition.choices))}
            )
        return text
    if kind == AttributeType.IP_ADDRESS:
        try:
            return str(ipaddress.ip_address(str(value).strip()))
        except ValueError as exc:
            raise ValidationError(_("Enter a valid IPv4 or IPv6 address.")) from exc
    if kind == AttributeType.URL:
        text = str(value).strip()
        URLValidator()(text)
        return text
    if kind == AttributeType.EMAIL:
        text = str(value).strip()
        EmailValidator()(text)
        return text
    raise ValidationError(_("Unknown attribute type."))


def ci_attributes_clean(
    *, schema: list[AttributeDefinition], attributes: dict, partial: bool = False
) -> dict:
    """Validate and normalise attribute values against a class schema.

    Unknown keys and missing required values are errors; empty values are dropped. Raises
    ValidationError keyed "attributes.<key>" so forms and the API show them by field.
    """
    if not isinstance(attributes, dict):
        raise ValidationError({"attributes": [_("Attributes must be an object of key: value.")]})
    by_key = {d.key: d for d in schema}
    errors: dict[str, list[str]] = {}
    cleaned = {}
    for key, value in attributes.items():
        definition = by_key.get(key)
        if definition is None:
            errors[f"attributes.{key}"] = [
                _("This class has no attribute “%(key)s”.") % {"key": key}
            ]
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            cleaned[key] = _coerce(definition, value)
        except ValidationError as exc:
            errors[f"attributes.{key}"] = exc.messages
    if not partial:
        for definition in schema:
            if definition.is_required and definition.key not in cleaned:
                errors.setdefault(f"attributes.{definition.key}", []).append(
                    _("“%(label)s” is required.") % {"label": definition.label}
                )
    if errors:
        raise ValidationError(errors)
    return cleaned
