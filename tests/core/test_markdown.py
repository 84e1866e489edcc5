import pytest

from core.markdown import markdown_render


def test_markdown_formatting_is_kept():
    html = markdown_render("**bold** and `code`\n\n- one\n- two")

    assert "<strong>bold</strong>" in html
    assert "<code>code</code>" in html
    assert "<li>one</li>" in html


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="#" onclick="alert(1)">x</a>',
        "<iframe src='https://evil.example'></iframe>",
        '<p style="position:fixed">x</p>',
    ],
)
def test_markdown_drops_scripts_handlers_and_styles(attack):
    html = markdown_render(attack).lower()

    for bad in ("<script", "onerror", "javascript:", "onclick", "<iframe", "style="):
        assert bad not in html


def test_links_get_safe_rel():
    html = markdown_render("[docs](https://example.com)")

    assert 'href="https://example.com"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_empty_body_renders_empty():
    assert markdown_render("") == ""


def test_a_render_keeps_nothing_of_the_previous_one():
    """Footnotes of one body must not reach the next."""
    first = markdown_render("See the log[^1].\n\n[^1]: At 9:00.")
    second = markdown_render("The VPN is down.")

    assert "At 9:00." in first
    assert second == "<p>The VPN is down.</p>\n"


def test_github_flavoured_markdown():
    """Tables, strikethrough, autolinks, fenced code, and a typed line break kept."""
    html = markdown_render(
        "| Host | State |\n| :--- | ---: |\n| web-01 | ~~down~~ up |\n\n"
        "See https://status.example.com\n\n```\nping web-01\n```\n\nline one\nline two"
    )

    assert '<th align="left">Host</th>' in html and '<td align="right">' in html
    assert "<del>down</del>" in html
    assert '<a href="https://status.example.com" rel="noopener noreferrer nofollow">' in html
    assert "<pre><code>ping web-01\n</code></pre>" in html
    assert "<p>line one<br>\nline two</p>" in html


def test_allowed_raw_html_is_kept_and_the_rest_dropped():
    html = markdown_render('<b>urgent</b> <span class="x">call</span> <input type="checkbox">')

    assert html == "<p><b>urgent</b> call </p>\n"
