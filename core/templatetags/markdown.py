from django import template

from core.markdown import markdown_render

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str):
    """{{ body|markdown }}: sanitised HTML from a Markdown body."""
    return markdown_render(text)
