"""Every string on the pages has an English translation, and the compiled catalogues match their sources."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _i18n():
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_page_string_is_translated_and_compiled() -> None:
    problems = _i18n().check()
    assert problems == [], "\n".join(problems[:40]) + "\n(fix: add the English in the .po file, then `make i18n`)"


def test_the_checker_finds_an_untranslated_string(tmp_path, monkeypatch) -> None:
    tool = _i18n()
    web = tmp_path / "postal_bridge" / "web"
    (web / "templates").mkdir(parents=True)
    (web / "templates" / "x.html").write_text('<p>{{ _("Chuỗi mới chưa dịch") }}</p>', encoding="utf-8")
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    monkeypatch.setattr(tool, "WEB", web)
    monkeypatch.setattr(tool, "TRANSLATIONS", web / "translations")
    problems = tool.check()
    assert any("Chuỗi mới chưa dịch" in p for p in problems)


def test_files_belong_to_their_area() -> None:
    tool = _i18n()
    assert tool.owner(tool.WEB / "templates" / "counter" / "new.html") == "counter"
    assert tool.owner(tool.WEB / "clerk.py") == "clerk"
    assert tool.owner(tool.WEB / "templates" / "citizen" / "track.html") == "citizen"
    assert tool.owner(tool.WEB / "citizen" / "actions.py") == "citizen"
    assert tool.owner(tool.WEB / "templates" / "layout.html") == "common"
