"""The pages' translation catalogues: extract, update, compile, check (``make i18n``; ``tests/unit/test_translations``).

The source language is Vietnamese; ``postal_bridge/web/translations/en/LC_MESSAGES/<area>.po`` holds English. Each
area of the site owns its files: ``web/<area>.py``, ``web/<area>/…``, ``web/templates/<area>/…``; ``common`` owns
everything else under ``web/``. Flask-Babel merges all catalogues, so a string may appear in two areas.

    python scripts/i18n.py update    # extract, merge into the .po files (new strings arrive untranslated), compile
    python scripts/i18n.py check     # exit 1 listing every string without an English translation, or a stale .mo
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "postal_bridge" / "web"
TRANSLATIONS = WEB / "translations"
LOCALES = ("en",)
AREAS = ("counter", "clerk", "citizen", "admin")
DOMAINS = ("common", *AREAS)
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "pgettext": ((1, "c"), 2)}
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}


def owner(path: Path) -> str:
    """Which area's catalogue a source file belongs to."""
    rel = path.relative_to(WEB)
    parts = rel.parts
    if parts[0] == "templates":
        if len(parts) > 2 and parts[1] in AREAS:
            return parts[1]
        return "common"
    stem = parts[0].removesuffix(".py")
    return stem if stem in AREAS else "common"


def sources(domain: str) -> Iterator[Path]:
    for path in sorted(WEB.rglob("*")):
        if path.suffix not in (".py", ".html") or "translations" in path.parts or "static" in path.parts:
            continue
        if owner(path) == domain:
            yield path


def extract(domain: str) -> Catalog:
    catalog = Catalog(locale=None, domain=domain, project="postal-bridge", charset="utf-8")
    for path in sources(domain):
        method = "python" if path.suffix == ".py" else "jinja2"
        options = {} if method == "python" else JINJA_OPTIONS
        for lineno, message, comments, context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options, strip_comment_tags=True
        ):
            catalog.add(message, None, [(str(path.relative_to(ROOT)), lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(locale: str, domain: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / f"{domain}.po"


def _read(path: Path, locale: str, domain: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=locale, domain=domain, project="postal-bridge", charset="utf-8")
    with path.open("rb") as f:
        return read_po(f, locale=locale, domain=domain)


def update() -> None:
    for domain in DOMAINS:
        template = extract(domain)
        for locale in LOCALES:
            path = po_path(locale, domain)
            if not len(template) and not path.exists():
                continue
            catalog = _read(path, locale, domain)
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as f:
                write_po(f, catalog, width=120, omit_header=False, sort_output=False, include_previous=False)
            with path.with_suffix(".mo").open("wb") as f:
                write_mo(f, catalog, use_fuzzy=False)
            missing = sum(1 for m in catalog if m.id and not m.string)
            print(f"{path.relative_to(ROOT)}: {len(catalog)} strings, {missing} to translate")


def check() -> list[str]:
    """Every extracted string translated (not fuzzy) in every locale, and each .mo equal to its .po."""
    problems: list[str] = []
    for domain in DOMAINS:
        template = extract(domain)
        for locale in LOCALES:
            path = po_path(locale, domain)
            if not len(template):
                continue
            catalog = _read(path, locale, domain)
            for message in template:
                if not message.id:
                    continue
                found = catalog.get(message.id, context=message.context)
                where = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
                if found is None:
                    problems.append(f"{locale}/{domain}: not in the catalogue: {message.id!r} ({where})")
                elif found.fuzzy or not (found.string if isinstance(found.string, str) else all(found.string)):
                    problems.append(f"{locale}/{domain}: not translated: {message.id!r} ({where})")
            mo = path.with_suffix(".mo")
            if not mo.exists():
                problems.append(f"{locale}/{domain}: {mo.name} is missing (run `make i18n`)")
                continue
            buf = io.BytesIO()
            write_mo(buf, catalog, use_fuzzy=False)
            buf.seek(0)
            with mo.open("rb") as f:
                compiled = {(m.id, m.context): m.string for m in read_mo(f)}
            expected = {(m.id, m.context): m.string for m in read_mo(buf)}
            if compiled != expected:
                problems.append(f"{locale}/{domain}: {mo.name} is older than {path.name} (run `make i18n`)")
    return problems


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "update":
        update()
        return 0
    if command == "check":
        problems = check()
        for p in problems:
            print(p)
        print(f"{len(problems)} problem(s)")
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
