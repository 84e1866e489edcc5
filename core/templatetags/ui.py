"""Presentation helpers for Bootstrap-styled forms (no logic, STYLE.md §10)."""

from django import forms, template

register = template.Library()


@register.filter
def bootstrap_widget(bound_field):
    """Render a form field's widget with Bootstrap's classes and its error state."""
    widget = bound_field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.RadioSelect):
        css = ""
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    if bound_field.errors:
        css += " is-invalid"
    classes = f"{widget.attrs.get('class', '')} {css}".strip()
    return bound_field.as_widget(attrs={"class": classes} if classes else None)
