"""Fail when a user-visible string has no Simplified Chinese translation.

Extracts every translatable string from the code and templates into the zh_Hans catalogue
(makemessages), then refuses untranslated, fuzzy or placeholder-mismatched entries, and
compiles the catalogue. `make test` runs it, so a missing translation breaks the build.
"""

import re
import shutil

import polib
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

IGNORE = [".venv/*", "node_modules/*", "var/*", "staticfiles/*", "tests/*", "bench/*"]
LOCALE = "zh_Hans"
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w*)\}")


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in _PLACEHOLDER.findall(text)}


class Command(BaseCommand):
    help = "Extract messages, fail on untranslated or fuzzy zh-Hans entries, compile catalogues."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-extract", action="store_true", help="Check the existing .po without makemessages."
        )

    def handle(self, *args, **options):
        if not shutil.which("msgfmt"):
            raise CommandError(
                "GNU gettext is missing: install it (Debian: apt-get install gettext)."
            )
        if not options["no_extract"]:
            for domain in ("django", "djangojs"):
                call_command(
                    "makemessages",
                    locale=[LOCALE],
                    domain=domain,
                    ignore_patterns=IGNORE,
                    no_obsolete=True,
                    verbosity=0,
                )
        problems = []
        for domain in ("django", "djangojs"):
            path = settings.BASE_DIR / "locale" / LOCALE / "LC_MESSAGES" / f"{domain}.po"
            if not path.exists():
                continue
            catalogue = polib.pofile(str(path))
            for entry in catalogue:
                if entry.obsolete:
                    continue
                where = entry.occurrences[0][0] if entry.occurrences else "?"
                if "fuzzy" in entry.flags:
                    problems.append(f"fuzzy: {entry.msgid!r} ({where})")
                elif not entry.translated():
                    problems.append(f"untranslated: {entry.msgid!r} ({where})")
                else:
                    translations = (
                        [entry.msgstr] if entry.msgstr else list(entry.msgstr_plural.values())
                    )
                    for text in translations:
                        if _placeholders(text) != _placeholders(entry.msgid):
                            problems.append(f"placeholders differ: {entry.msgid!r} ({where})")
        if problems:
            for line in problems:
                self.stderr.write(line)
            raise CommandError(
                f"{len(problems)} zh-Hans translation problem(s) in locale/{LOCALE}; "
                "translate them in the .po file (no fuzzy entries)."
            )
        call_command("compilemessages", locale=[LOCALE], verbosity=0, ignore_patterns=IGNORE)
        self.stdout.write("zh-Hans translations complete.")
