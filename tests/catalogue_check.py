"""Checks of a face's message catalogue (the till's, the back office's): the compiled `.mo`
says what its `.po` says, and every message the face's code and templates use is translated."""
from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po


def compiled_differences(translations_dir: Path, domain: str) -> list[str]:
    """Messages whose compiled text is not the source's, or that have no translation."""
    wrong = []
    for po_path in Path(translations_dir).glob(f"*/LC_MESSAGES/{domain}.po"):
        with po_path.open("rb") as handle:
            source = {m.id: m.string for m in read_po(handle) if m.id}
        with po_path.with_suffix(".mo").open("rb") as handle:
            compiled = gettext.GNUTranslations(handle)
        wrong += [f"{po_path}: {key!r}" for key, text in source.items()
                  if not text or compiled.gettext(key) != text]
    return wrong


def untranslated(translations_dir: Path, domain: str, language: str = "fr") -> list[str]:
    """Messages the face's Python and templates use that the language's catalogue lacks."""
    keywords = {"_": None, "gettext": None, "lazy_gettext": None}
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    used = {message for _file, _line, message, _comments, _context in extract_from_dir(
        str(Path(translations_dir).parent), method_map, keywords=keywords)}
    with (Path(translations_dir) / f"{language}/LC_MESSAGES/{domain}.po").open("rb") as handle:
        translated = {m.id for m in read_po(handle) if m.id and m.string}
    return sorted(used - translated)
