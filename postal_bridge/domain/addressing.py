"""Address resolution after the 2025 reorganisation: free text or codes (old three-level or new two-level) → 2025 ward.

The resolver reads an address from the right: province, then (old form) district, then ward; whatever precedes the
ward is the street line. Names are compared as folded token sequences (no accents, no case, no type word), and the
accented spelling breaks ties between names that fold alike (Mỹ Tho / Mỹ Thọ). Conversions from the old scheme are
suggestions: a commune that was split in 2025 is never converted silently (``ambiguous`` + ``needs_confirmation``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from postal_bridge.domain.text import fold_place_name, nfc, strip_diacritics

EXACT = "exact"
SUGGESTED = "suggested"
AMBIGUOUS = "ambiguous"
NOT_FOUND = "not_found"


@dataclass(frozen=True)
class UnitRecord:
    """A ward, commune or special zone of the 2025 list."""

    code: str
    name: str
    province_code: str
    province_name: str
    ward_type: str  # xa | phuong | dac_khu
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class LegacyRecord:
    """A pre-2025 commune (63-province scheme) and the 2025 ward(s) it became."""

    code: str
    name: str
    district_code: str
    district_name: str
    province_code: str
    province_name: str
    new_ward_codes: tuple[str, ...]
    split: bool


@dataclass(frozen=True)
class Candidate:
    ward_code: str
    ward_name: str
    province_code: str
    province_name: str
    line: str
    score: float  # 0..1, best first
    via: str  # "2025" | "legacy"
    legacy_ward_code: str | None = None


@dataclass(frozen=True)
class Resolution:
    status: str  # exact | suggested | ambiguous | not_found
    candidates: list[Candidate]
    needs_confirmation: bool
    line: str
    message: str = ""


# --- tokens --------------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_TYPED_NUMBER = re.compile(r"^(p|q|f|x)(\d+)$")  # P1, Q10, F5 → type word + number
_NOISE = re.compile(r"\((?:\s*(?:cũ|cu|mới|moi|old|new)\s*)\)", re.IGNORECASE)
_SEPARATORS = frozenset(",;|\n")
_DASHES = frozenset("-–—")
_TONES = {"\u0300": "2", "\u0301": "1", "\u0309": "3", "\u0303": "4", "\u0323": "5"}
_COUNTRY = (("viet", "nam"), ("vietnam",), ("vn",))

# Break kinds before a token: none, a dash (names may span it: "Bà Rịa - Vũng Tàu"), a comma-like separator.
_NONE, _DASH, _COMMA = 0, 1, 2


@dataclass(frozen=True)
class _Tok:
    fold: str
    accent: str
    start: int
    end: int
    brk: int  # break before this token; the first token counts as a comma break


def _fold_word(word: str) -> str:
    return strip_diacritics(word).lower().replace("'", "").replace("’", "")


def _accent_word(word: str) -> str:
    """Lower-case spelling with the tone as a suffix digit, so ``hòa`` and ``hoà`` agree but ``Hà``/``Hạ`` differ."""
    decomposed = unicodedata.normalize("NFD", word.lower().replace("'", "").replace("’", ""))
    tone = next((_TONES[ch] for ch in decomposed if ch in _TONES), "0")
    bare = "".join(ch for ch in decomposed if ch not in _TONES)
    return unicodedata.normalize("NFC", bare) + tone


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    prev_end = 0
    for m in _WORD.finditer(text):
        gap = text[prev_end : m.start()]
        if not toks or any(ch in _SEPARATORS for ch in gap):
            brk = _COMMA
        elif any(ch in _DASHES for ch in gap) and not (toks[-1].fold[-1:].isdigit() and m.group()[:1].isdigit()):
            brk = _DASH
        else:
            brk = _NONE
        word = m.group()
        fold = _fold_word(word)
        typed = _TYPED_NUMBER.match(fold)
        if typed:
            cut = m.start() + len(typed.group(1))
            toks.append(_Tok(typed.group(1), typed.group(1) + "0", m.start(), cut, brk))
            toks.append(_Tok(typed.group(2), typed.group(2) + "0", cut, m.end(), _NONE))
        else:
            toks.append(_Tok(fold, _accent_word(word), m.start(), m.end(), brk))
        prev_end = m.end()
    return toks


def _name_tokens(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    words = _WORD.findall(nfc(name))
    return tuple(_fold_word(w) for w in words), tuple(_accent_word(w) for w in words)


# Type words, longest first. Ward kinds: phuong, xa, thi_tran, dac_khu; district/province kinds as named.
_WARD_TYPES: dict[tuple[str, ...], str] = {
    ("thi", "tran"): "thi_tran",
    ("dac", "khu"): "dac_khu",
    ("phuong",): "phuong",
    ("xa",): "xa",
    ("p",): "phuong",
    ("f",): "phuong",
    ("x",): "xa",
    ("tt",): "thi_tran",
}
_DISTRICT_TYPES: dict[tuple[str, ...], str] = {
    ("thi", "xa"): "thi_xa",
    ("thanh", "pho"): "thanh_pho",
    ("quan",): "quan",
    ("huyen",): "huyen",
    ("q",): "quan",
    ("h",): "huyen",
    ("tx",): "thi_xa",
    ("tp",): "thanh_pho",
}
_PROVINCE_TYPES: dict[tuple[str, ...], str] = {("thanh", "pho"): "thanh_pho", ("tinh",): "tinh", ("tp",): "thanh_pho"}


_NAME_PREFIXES: dict[tuple[str, ...], str] = {
    ("thi", "tran"): "thi_tran",
    ("dac", "khu"): "dac_khu",
    ("thi", "xa"): "thi_xa",
    ("thanh", "pho"): "thanh_pho",
    ("phuong",): "phuong",
    ("xa",): "xa",
    ("quan",): "quan",
    ("huyen",): "huyen",
    ("tinh",): "tinh",
}


def _split_type(tokens: tuple[str, ...]) -> tuple[int, str]:
    """How many leading tokens of an official name are its type word (Phường, Xã, Quận…), and which kind."""
    for words, kind in _NAME_PREFIXES.items():
        if tokens[: len(words)] == words and len(tokens) > len(words):
            return len(words), kind
    return 0, ""


def _short_key(name: str) -> tuple[str, ...]:
    folded, _ = _name_tokens(name)
    return folded[_split_type(folded)[0] :]


# Common short forms of province names (folded tokens) → the 2025 province name they mean.
_PROVINCE_ALIASES: dict[tuple[str, ...], str] = {
    ("hcm",): "Thành phố Hồ Chí Minh",
    ("tphcm",): "Thành phố Hồ Chí Minh",
    ("hcmc",): "Thành phố Hồ Chí Minh",
    ("sai", "gon"): "Thành phố Hồ Chí Minh",
    ("saigon",): "Thành phố Hồ Chí Minh",
    ("sg",): "Thành phố Hồ Chí Minh",
    ("hn",): "Thành phố Hà Nội",
    ("tphn",): "Thành phố Hà Nội",
    ("hanoi",): "Thành phố Hà Nội",
    ("hp",): "Thành phố Hải Phòng",
    ("tp", "hp"): "Thành phố Hải Phòng",
    ("da", "nang"): "Thành phố Đà Nẵng",
    ("thua", "thien", "hue"): "Thành phố Huế",
    ("tt", "hue"): "Thành phố Huế",
    ("ba", "ria", "vung", "tau"): "Tỉnh Bà Rịa - Vũng Tàu",
    ("brvt",): "Tỉnh Bà Rịa - Vũng Tàu",
    ("daklak",): "Tỉnh Đắk Lắk",
    ("dac", "lac"): "Tỉnh Đắk Lắk",
}


@dataclass
class _ProvinceRef:
    new: set[str] = field(default_factory=set)  # 2025 province codes this name means
    legacy: set[str] = field(default_factory=set)  # pre-2025 province codes this name means


@dataclass(frozen=True)
class _Match:
    start: int  # first token consumed (type word included)
    end: int
    typed: str | None  # kind of the type word in front of the name, if any
    anchored: bool  # typed, or the name starts a segment
    records: tuple


@dataclass(frozen=True)
class _Option:
    score: float
    record: UnitRecord | LegacyRecord
    match: _Match
    province_given: bool
    quality: float  # 0..1 confidence factor for the output score


class _NameIndex:
    """Folded short-name tokens → records, plus each record's accented tokens and type kind."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, ...], list] = {}
        self.accent: dict[int, tuple[str, ...]] = {}
        self.kind: dict[int, str] = {}
        self.maxlen = 0

    def add(self, record: object, name: str) -> None:
        folded, accented = _name_tokens(name)
        cut, kind = _split_type(folded)
        key = folded[cut:]
        if not key:
            return
        self.by_key.setdefault(key, []).append(record)
        self.accent[id(record)] = accented[cut:]
        self.kind[id(record)] = kind
        self.maxlen = max(self.maxlen, len(key))


class AddressResolver:
    """Built once from the 2025 wards and the legacy communes; every lookup afterwards is a few dict probes."""

    def __init__(
        self,
        wards: Iterable[UnitRecord],
        legacy: Iterable[LegacyRecord],
        provinces: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        self._wards = {w.code: w for w in wards}
        self._legacy = {r.code: r for r in legacy}
        names = dict(provinces or ())
        for w in self._wards.values():
            names.setdefault(w.province_code, w.province_name)
        self._province_names = dict(sorted(names.items()))

        # 2025 wards per province, legacy communes per old province and per old district.
        self._ward_idx: dict[str, _NameIndex] = {}
        self._by_province: dict[str, list[UnitRecord]] = {}
        for w in self._wards.values():
            self._ward_idx.setdefault(w.province_code, _NameIndex()).add(w, w.name)
            self._by_province.setdefault(w.province_code, []).append(w)
        for rows in self._by_province.values():
            rows.sort(key=lambda w: (fold_place_name(w.name), w.code))
        self._legacy_idx: dict[str, _NameIndex] = {}
        self._district_idx: dict[str, _NameIndex] = {}
        self._legacy_by_district: dict[str, list[LegacyRecord]] = {}
        self._district_wards: dict[str, _NameIndex] = {}
        self.legacy_to_new_province: dict[str, str] = {}
        seen_districts: set[str] = set()
        for r in self._legacy.values():
            self._legacy_idx.setdefault(r.province_code, _NameIndex()).add(r, r.name)
            self._legacy_by_district.setdefault(r.district_code, []).append(r)
            self._district_wards.setdefault(r.district_code, _NameIndex()).add(r, r.name)
            if r.district_code not in seen_districts:
                seen_districts.add(r.district_code)
                self._district_idx.setdefault(r.province_code, _NameIndex()).add(r.district_code, r.district_name)
            target = self._wards.get(r.new_ward_codes[0]) if r.new_ward_codes else None
            if target is not None:
                self.legacy_to_new_province.setdefault(r.province_code, target.province_code)
        self._merged_into: dict[str, set[str]] = {}
        for old, new in self.legacy_to_new_province.items():
            self._merged_into.setdefault(new, set()).add(old)

        # Province names and aliases, old and new.
        self._provinces: dict[tuple[str, ...], _ProvinceRef] = {}
        by_name: dict[str, str] = {}
        for code, name in self._province_names.items():
            by_name[name] = code
            self._add_province(name, new=code)
        legacy_names = {r.province_code: r.province_name for r in self._legacy.values()}
        for code, name in legacy_names.items():
            self._add_province(name, legacy=code)
        for words, name in _PROVINCE_ALIASES.items():
            ref = self._provinces.get(_short_key(name))
            if ref is not None:
                alias = self._provinces.setdefault(words, _ProvinceRef())
                alias.new |= ref.new
                alias.legacy |= ref.legacy
        self._province_maxlen = max(len(k) for k in self._provinces) if self._provinces else 0

    def _add_province(self, name: str, *, new: str | None = None, legacy: str | None = None) -> None:
        short = _short_key(name)
        for key in {short, ("".join(short),)}:
            ref = self._provinces.setdefault(key, _ProvinceRef())
            if new:
                ref.new.add(new)
            if legacy:
                ref.legacy.add(legacy)

    # --- public lookups ---------------------------------------------------------------------------------------------

    def provinces(self) -> list[tuple[str, str]]:
        return list(self._province_names.items())

    def province_name(self, code: str) -> str | None:
        return self._province_names.get(code)

    def ward(self, code: str) -> UnitRecord | None:
        return self._wards.get(code)

    def legacy_ward(self, code: str) -> LegacyRecord | None:
        return self._legacy.get(code)

    def search_wards(self, province_code: str, q: str | None = None, limit: int = 20) -> list[UnitRecord]:
        """Type-ahead: prefix matches on the name without type word first, then prefix of any word, then contains.

        Diacritics are optional; when the query has them, spellings that agree come first (Mỹ Tho before Mỹ Thọ).
        """
        rows = self._by_province.get(province_code, [])
        query = nfc(q or "")
        if not query:
            return rows[:limit]
        folded_q = " ".join(t.fold for t in _tokenize(query))
        accent_q = " ".join(t.accent for t in _tokenize(query))
        if not folded_q:
            return rows[:limit]
        has_marks = strip_diacritics(query).lower() != query.lower()
        ranked: list[tuple[int, int, str, str, UnitRecord]] = []
        for w in rows:
            folded, accented = _name_tokens(w.name)
            cut, _ = _split_type(folded)
            short, full = " ".join(folded[cut:]), " ".join(folded)
            if short.startswith(folded_q) or full.startswith(folded_q):
                rank = 0
            elif (" " + short).find(" " + folded_q) >= 0:
                rank = 1
            elif folded_q in full:
                rank = 2
            else:
                continue
            accent_miss = int(has_marks and accent_q not in " ".join(accented))
            ranked.append((accent_miss, rank, short, w.code, w))
        ranked.sort(key=lambda r: r[:4])
        return [r[4] for r in ranked[:limit]]

    # --- codes ------------------------------------------------------------------------------------------------------

    def resolve_codes(
        self, ward_code: str, province_code: str | None = None, scheme: str = "2025", line: str = ""
    ) -> Resolution:
        line = nfc(line or "")
        ward_code = (ward_code or "").strip()
        province_code = (province_code or "").strip()
        if scheme == "legacy":
            record = self._legacy.get(ward_code)
            if record is None:
                return Resolution(NOT_FOUND, [], True, line, f"Legacy ward code {ward_code!r} is not in the old list.")
            new_provinces = {self._wards[c].province_code for c in record.new_ward_codes if c in self._wards}
            if province_code and province_code != record.province_code and province_code not in new_provinces:
                return Resolution(
                    NOT_FOUND,
                    [],
                    True,
                    line,
                    f"Legacy ward {ward_code} ({record.name}) was in {record.province_name} "
                    f"(old code {record.province_code}), not in province {province_code}.",
                )
            return self._legacy_resolution([record], line, province_given=True, quality=1.0)
        ward = self._wards.get(ward_code)
        if ward is None:
            return Resolution(NOT_FOUND, [], True, line, f"Ward code {ward_code!r} is not in the 2025 list.")
        if province_code and province_code != ward.province_code:
            return Resolution(
                NOT_FOUND,
                [],
                True,
                line,
                f"Ward {ward.code} ({ward.name}) belongs to province {ward.province_code}, not {province_code}.",
            )
        return Resolution(EXACT, [self._candidate(ward, line, 1.0, "2025")], False, line)

    # --- free text --------------------------------------------------------------------------------------------------

    def resolve_text(self, text: str) -> Resolution:
        lines = ", ".join(part for part in (text or "").splitlines() if part.strip())  # a line break separates parts
        clean = nfc(_NOISE.sub(lambda m: " " * len(m.group()), nfc(lines)))
        toks = _tokenize(clean)
        end = self._strip_country(toks)
        if end == 0:
            return Resolution(NOT_FOUND, [], True, clean, "Nothing that looks like an address.")

        options: list[_Option] = []
        province_seen: _Match | None = None
        for pmatch in [None, *self._province_matches(toks, end)]:
            options.extend(self._parse_below_province(toks, end, pmatch))
            if pmatch is not None and (province_seen is None or pmatch.start < province_seen.start):
                province_seen = pmatch
        if not options:
            if province_seen is not None:
                ref: _ProvinceRef = province_seen.records[0]
                codes = ref.new or {self.legacy_to_new_province.get(c, c) for c in ref.legacy}
                names = ", ".join(sorted(self._province_names.get(c, c) for c in codes))
                before = _line_before(clean, toks, province_seen.start)
                return Resolution(
                    NOT_FOUND,
                    [],
                    True,
                    before,
                    f"No ward or commune of {names} matched; pick one from the province's list "
                    "(the street line is kept).",
                )
            return Resolution(NOT_FOUND, [], True, clean, "No province, ward or commune recognised.")

        best = max(o.score for o in options)
        winners: dict[str, _Option] = {}
        for o in sorted(options, key=lambda o: -o.score):
            if o.score >= best - 1e-9:
                winners.setdefault(f"{type(o.record).__name__}:{o.record.code}", o)
        chosen = list(winners.values())
        top = chosen[0]
        line = _line_before(clean, toks, top.match.start)
        province_given = all(o.province_given for o in chosen)
        quality = min(o.quality for o in chosen)
        if all(isinstance(o.record, UnitRecord) for o in chosen):
            wards = [o.record for o in chosen]
            if len(wards) == 1:
                score = round(quality, 3)
                if province_given:
                    return Resolution(EXACT, [self._candidate(wards[0], line, score, "2025")], False, line)
                return Resolution(
                    SUGGESTED,
                    [self._candidate(wards[0], line, round(score * 0.7, 3), "2025")],
                    True,
                    line,
                    "No province in the text; confirm the province.",
                )
            share = round(0.8 * quality / len(wards), 3)
            return Resolution(
                AMBIGUOUS,
                [self._candidate(w, line, share, "2025") for w in wards],
                True,
                line,
                f"{len(wards)} wards match; pick one.",
            )
        legacy = [o.record for o in chosen if isinstance(o.record, LegacyRecord)]
        return self._legacy_resolution(legacy, line, province_given=province_given, quality=quality)

    # --- internals --------------------------------------------------------------------------------------------------

    def _candidate(
        self, ward: UnitRecord, line: str, score: float, via: str, legacy_code: str | None = None
    ) -> Candidate:
        return Candidate(ward.code, ward.name, ward.province_code, ward.province_name, line, score, via, legacy_code)

    def _legacy_resolution(
        self, records: list[LegacyRecord], line: str, *, province_given: bool, quality: float
    ) -> Resolution:
        targets: dict[str, tuple[UnitRecord, LegacyRecord, bool]] = {}
        for r in records:
            old_short = _short_key(r.name)
            for code in r.new_ward_codes:
                ward = self._wards.get(code)
                if ward is None or code in targets:
                    continue
                same_name = _short_key(ward.name) == old_short
                targets[code] = (ward, r, same_name)
        if not targets:
            return Resolution(NOT_FOUND, [], True, line, "The old commune has no 2025 successor in the data.")
        if len(targets) == 1:
            ward, r, _ = next(iter(targets.values()))
            score = round(0.9 * quality * (1.0 if province_given else 0.7), 3)
            old = ", ".join(dict.fromkeys((r.name, r.district_name, r.province_name)))
            message = f"{old} became {ward.name}, {ward.province_name}."
            if not province_given:
                message += " No province in the text; confirm the province."
            return Resolution(
                SUGGESTED, [self._candidate(ward, line, score, "legacy", r.code)], not province_given, line, message
            )
        n = len(targets)
        ordered = sorted(targets.values(), key=lambda t: not t[2])  # a successor with the old name first (stable)
        cands = [
            self._candidate(
                ward, line, round(min(1.0, (0.8 / n + (0.1 if same else 0.0)) * quality), 3), "legacy", r.code
            )
            for ward, r, same in ordered
        ]
        if len(records) == 1:
            r = records[0]
            message = (
                f"{r.name}, {r.district_name}, {r.province_name} was split in 2025 into {n} wards; "
                "confirm which one serves this street."
            )
        else:
            message = (
                f"{len(records)} old communes share this name ({', '.join(sorted({r.district_name for r in records}))})"
                "; give the old district or pick the new ward."
            )
        return Resolution(AMBIGUOUS, cands, True, line, message)

    def _strip_country(self, toks: list[_Tok]) -> int:
        end = len(toks)
        changed = True
        while changed and end:
            changed = False
            if toks[end - 1].fold.isdigit() and len(toks[end - 1].fold) in (5, 6):  # postal code
                end -= 1
                changed = True
                continue
            for words in _COUNTRY:
                n = len(words)
                if end >= n and tuple(t.fold for t in toks[end - n : end]) == words:
                    end -= n
                    changed = True
                    break
        return end

    def _province_matches(self, toks: list[_Tok], end: int) -> list[_Match]:
        found: list[_Match] = []
        for n in range(1, min(self._province_maxlen, end) + 1):
            s = end - n
            if any(t.brk == _COMMA for t in toks[s + 1 : end]):
                break
            ref = self._provinces.get(tuple(t.fold for t in toks[s:end]))
            if ref is None:
                continue
            start, typed = _type_before(toks, s, _PROVINCE_TYPES)
            anchored = typed is not None or toks[s].brk != _NONE or toks[start].brk != _NONE
            found.append(_Match(start, end, typed, anchored, (ref,)))
        return found

    def _parse_below_province(self, toks: list[_Tok], end: int, pmatch: _Match | None) -> list[_Option]:
        if pmatch is None:
            new_scope: set[str] | None = None  # everywhere
            legacy_scope: set[str] | None = None
            pscore = 0.0
            pquality = 1.0
        else:
            end = pmatch.start
            ref: _ProvinceRef = pmatch.records[0]
            new_scope = set(ref.new) | {
                self.legacy_to_new_province[c] for c in ref.legacy if c in self.legacy_to_new_province
            }
            legacy_scope = set(ref.legacy)
            for code in ref.new:
                legacy_scope |= self._merged_into.get(code, set())
            pscore = 1.0 if pmatch.anchored else 0.6
            pquality = 1.0 if pmatch.anchored else 0.9
        if end <= 0:
            return []
        options: list[_Option] = []
        given = pmatch is not None

        # New form: ward right before the province.
        ward_indexes = self._scoped(self._ward_idx, new_scope)
        for m, rec, wscore, wq in self._ward_matches(toks, end, ward_indexes, legacy=False):
            options.append(_Option(pscore + wscore, rec, m, given, pquality * wq))
        # Old form without a district: a legacy commune right before the province (a 2025 name wins a tie).
        legacy_indexes = self._scoped(self._legacy_idx, legacy_scope)
        for m, rec, wscore, wq in self._ward_matches(toks, end, legacy_indexes, legacy=True):
            options.append(_Option(pscore + wscore - 0.05, rec, m, given, pquality * wq))
        # Old form with a district: commune, district, province.
        for dm in self._district_matches(toks, end, self._scoped(self._district_idx, legacy_scope)):
            district_codes = set(dm.records)
            dscore = 0.6 if dm.typed else 0.45
            idx = [self._district_wards[c] for c in sorted(district_codes) if c in self._district_wards]
            for m, rec, wscore, wq in self._ward_matches(toks, dm.start, idx, legacy=True):
                options.append(_Option(pscore + dscore + wscore, rec, m, given, pquality * wq))
            # A 2025 ward followed by its old district as a hint ("Phường Láng, Quận Đống Đa (cũ), Hà Nội").
            olds = {
                c for code in district_codes for r in self._legacy_by_district.get(code, []) for c in r.new_ward_codes
            }
            for m, rec, wscore, wq in self._ward_matches(toks, dm.start, ward_indexes, legacy=False):
                hint = 0.3 if rec.code in olds else -0.2
                options.append(_Option(pscore + hint + wscore, rec, m, given, pquality * wq))
        return options

    @staticmethod
    def _scoped(indexes: dict[str, _NameIndex], scope: set[str] | None) -> list[_NameIndex]:
        if scope is None:
            return list(indexes.values())
        return [indexes[c] for c in sorted(scope) if c in indexes]

    def _district_matches(self, toks: list[_Tok], end: int, indexes: list[_NameIndex]) -> list[_Match]:
        found: dict[tuple[int, int], tuple[str | None, bool, list[str]]] = {}
        maxlen = max((i.maxlen for i in indexes), default=0)
        for n in range(1, min(maxlen, end) + 1):
            s = end - n
            if any(t.brk == _COMMA for t in toks[s + 1 : end]):
                break
            key = tuple(t.fold for t in toks[s:end])
            codes = [c for i in indexes for c in i.by_key.get(key, ())]
            if not codes:
                continue
            if _type_before(toks, s, _WARD_TYPES)[1] is not None and _type_before(toks, s, _DISTRICT_TYPES)[1] is None:
                continue  # "Phường X" is a ward, not a district
            start, typed = _type_before(toks, s, _DISTRICT_TYPES)
            if typed is None and all(k.isdigit() for k in key):
                continue  # a bare number is a house number, not "Quận 1"
            anchored = typed is not None or toks[s].brk != _NONE
            if anchored:
                found[(start, end)] = (typed, anchored, codes)
        return [_Match(s, e, typed, anchored, tuple(codes)) for (s, e), (typed, anchored, codes) in found.items()]

    def _ward_matches(self, toks: list[_Tok], end: int, indexes: list[_NameIndex], *, legacy: bool):
        """(match, record, score, quality) for every record whose name ends at ``end`` and starts an address part."""
        maxlen = max((i.maxlen for i in indexes), default=0)
        for n in range(1, min(maxlen, end) + 1):
            s = end - n
            if any(t.brk == _COMMA for t in toks[s + 1 : end]):
                break
            key = tuple(t.fold for t in toks[s:end])
            accents = tuple(t.accent for t in toks[s:end])
            hits = [(i, r) for i in indexes for r in i.by_key.get(key, ())]
            if not hits:
                continue
            dstart, dtyped = _type_before(toks, s, _DISTRICT_TYPES)
            wstart, wtyped = _type_before(toks, s, _WARD_TYPES)
            numeric = all(k.isdigit() for k in key)
            for index, rec in hits:
                kind = index.kind[id(rec)]
                pseudo = legacy and rec.code.startswith("D")
                if dtyped is not None and (wtyped is None or dstart < wstart):
                    if not pseudo:
                        continue  # "Quận X" / "Thị xã X" names a district, not this ward
                    start, typed = dstart, dtyped
                else:
                    start, typed = wstart, wtyped
                if typed is None and (numeric or toks[s].brk == _NONE):
                    continue
                score = 1.0 + 0.02 * n
                quality = 1.0
                if typed is not None:
                    if typed == kind or pseudo:
                        score += 0.3
                    else:  # e.g. "Xã" written for what is now a "Phường": accepted, trusted a little less
                        score += 0.1
                        quality = 0.95
                else:
                    score += 0.2
                if index.accent[id(rec)] == accents:
                    score += 0.15
                yield _Match(start, end, typed, True, (rec,)), rec, score, quality


def _type_before(toks: list[_Tok], s: int, types: dict[tuple[str, ...], str]) -> tuple[int, str | None]:
    """The type word right in front of token ``s`` (same address part), as (first token, kind)."""
    for words, kind in types.items():
        n = len(words)
        if s - n < 0:
            continue
        span = toks[s - n : s]
        if tuple(t.fold for t in span) == words and not any(t.brk != _NONE for t in toks[s - n + 1 : s + 1]):
            return s - n, kind
    return s, None


def _line_before(text: str, toks: list[_Tok], start: int) -> str:
    if start <= 0:
        return ""
    return text[: toks[start].start].rstrip(" ,;|-–—.\n\t")
