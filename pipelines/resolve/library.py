"""The comparison library: named comparisons for Chinese civil data (and any data), one line each.

A configuration's ``comparisons`` entry either spells its levels out in SQL (``null_when`` +
``levels``, always available) or names a library comparison with ``use``::

    - {name: id, use: resident_id, column: id_number}        # derive the features from a column
    - {name: name, use: chinese_name, feature: nm, py: nm_py} # or read features declared already

With ``column`` (SQL over the input's columns) the comparison adds the features it needs - the
main one named like the comparison, the others ``<name>_<suffix>`` (``name_py`` ...) - after the
declared ones, so blocking rules and other comparisons can use them.  Without it, ``feature``
(default: the comparison's name) and the optional role parameters (``fuzzy``, ``py`` ...) name
declared features; a role left out drops the levels that need it.  Options (``thresholds``, ``tf``
...) tune the levels.  Entries are expanded into plain ``features`` and levels before the
configuration is validated, so the engine, training and explanations see one form; a bad entry
is one :class:`LibraryError` naming the entry and the parameter.

Why a library: the levels that matter for Chinese records (an ID one keystroke away, a 15-digit
legacy ID, a homophone or traditional-character name, a pinyin-only name, a date keyed with day
and month swapped) are easy to get subtly wrong in SQL, and each master had its own copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipelines.resolve.macros import RID_ALPHABET, USCC_ALPHABET

#: name prefix of the private features a comparison derives (its normal form, ``_lib_<name>``)
PRIVATE_PREFIX = "_lib_"
Levels = list[dict[str, Any]]
#: role -> the feature(s) playing it (``None``: not available); address roles may list several
Roles = dict[str, list[str] | None]


class LibraryError(ValueError):
    """A library entry that cannot be expanded: ``loc`` (e.g. ``comparisons[2].use``) and why."""

    def __init__(self, loc: str, msg: str) -> None:
        super().__init__(f"{loc}: {msg}")
        self.loc, self.msg = loc, msg


class Options(BaseModel):
    """Options every library comparison takes (kinds add their own)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    #: term-frequency adjustment on the exact level (a rare value agreeing weighs more)
    tf: bool = False
    #: a feature this one is often keyed into instead (given name and surname, the two address
    #: lines): a last level for the two transposed, in either direction
    swapped_with: str | None = None


class SimilarityOptions(Options):
    thresholds: list[float] = Field(default_factory=lambda: [0.9, 0.8])


class EditOptions(Options):
    thresholds: list[int] = Field(default_factory=lambda: [1, 2])


class NameOptions(Options):
    tf: bool = True
    #: Jaro-Winkler levels below the pinyin one (one mistyped or misread character)
    thresholds: list[float] = Field(default_factory=lambda: [0.9, 0.8])


class TypoOptions(Options):
    #: a level for one wrong character or two adjacent ones swapped
    typo: bool = True


class IdOptions(Options):
    #: (column mode) recorded birth date: an ID whose embedded date is further than this many days
    #: from it belongs to someone else (an infant under the mother's ID) and is no key of the record
    birth: str | None = None
    birth_days: int = Field(default=730, ge=0)


class DateOptions(Options):
    #: (column mode) strptime format of a text column; default: a cast to DATE
    format: str | None = None
    #: (column mode) a resident ID - a column, or the name of a resident_id comparison before this
    #: one - whose embedded birth date stands in for a missing date
    embedded_in: str | None = None
    typo: bool = True


class AddressOptions(Options):
    thresholds: list[float] = Field(default_factory=list)


def _one(r: Roles, role: str) -> str | None:
    """The single feature playing ``role`` (None: the role is not given)."""
    names = r.get(role)
    return names[0] if names else None


def _main(r: Roles) -> str:
    return _one(r, "feature") or ""


def _any_equal(role: list[str]) -> str:
    """``l`` and ``r`` share a value of the role (several features: any of one side's among the other's)."""
    if len(role) == 1:
        return f"l.{role[0]} = r.{role[0]}"
    right = ", ".join(f"r.{f}" for f in role)
    return " OR ".join(f"l.{f} IN ({right})" for f in role)


def _null_when(*roles: list[str] | None) -> str:
    feats = [f for role in roles if role for f in role]
    side = [f"coalesce({', '.join(f'{s}.{f}' for f in feats)})" if len(feats) > 1 else f"{s}.{feats[0]}"
            for s in ("l", "r")]
    return f"{side[0]} IS NULL OR {side[1]} IS NULL"


def _exact(v: list[str], o: Options) -> dict[str, Any]:
    level: dict[str, Any] = {"label": "exact", "when": _any_equal(v)}
    if o.tf:
        level["tf"] = v[0]
    return level


def _jw(v: str, thresholds: list[float]) -> Levels:
    return [{"label": f"jaro_winkler_{round(t * 100)}", "when": f"jaro_winkler_similarity(l.{v}, r.{v}) >= {t}"}
            for t in thresholds]


def _one_keystroke(a: str, b: str) -> str:
    return f"edit1_or_swap({a}, {b})"


# -- levels per kind ---------------------------------------------------------------------------------


def _levels_exact(r: Roles, o: Any) -> Levels:
    return [_exact(r["feature"] or [], o)]


def _levels_jw(r: Roles, o: Any) -> Levels:
    v = r["feature"] or []
    return [_exact(v, o), *_jw(v[0], o.thresholds)]


def _levels_levenshtein(r: Roles, o: Any) -> Levels:
    v = _main(r)
    return [_exact([v], o)] + [{"label": f"levenshtein_{k}", "when": f"levenshtein(l.{v}, r.{v}) <= {k}"}
                               for k in o.thresholds]


def _levels_identifier(r: Roles, o: Any) -> Levels:
    """Valid ID equal; the same invalid text on both; one keystroke or adjacent swap apart (also
    between a legacy 15-digit text and a valid ID's 15-digit form); the same organisation code."""
    v, fz = _main(r), _one(r, "fuzzy")
    levels = [_exact([v], o)]
    if fz:
        levels.append({"label": "same_wrong_value", "when": f"l.{fz} = r.{fz}"})
    a, b = (f"coalesce(l.{v}, l.{fz})", f"coalesce(r.{v}, r.{fz})") if fz else (f"l.{v}", f"r.{v}")
    typo = [_one_keystroke(a, b)]
    id15 = _one(r, "id15")
    if id15 and fz:
        typo += [_one_keystroke(f"l.{fz}", f"r.{id15}"), _one_keystroke(f"l.{id15}", f"r.{fz}")]
    if getattr(o, "typo", True):
        levels.append({"label": "one_keystroke", "when": " OR ".join(typo)})
    org = _one(r, "org")
    if org:
        levels.append({"label": "same_org_code", "when": f"l.{org} = r.{org}"})
    return levels


def _levels_name(r: Roles, o: Any) -> Levels:
    """Exact (after traditional -> simplified and punctuation removal); same pinyin - homophones,
    pinyin-only spellings, compound surnames read as surnames - or the same plain reading (a
    homophone typo in the surname); Jaro-Winkler."""
    v = _main(r)
    levels = [_exact([v], o)]
    py = [f"l.{f} = r.{f}" for role in ("py", "py_plain") for f in (r.get(role) or [])]
    if py:
        levels.append({"label": "same_pinyin", "when": " OR ".join(py)})
    return levels + _jw(v, o.thresholds)


def _levels_date(r: Roles, o: Any) -> Levels:
    v = _main(r)
    levels = [_exact([v], o)]
    if o.typo:
        levels.append({"label": "keying_error", "when": f"date_typo(l.{v}, r.{v})"})
    return levels


def _levels_phone(r: Roles, o: Any) -> Levels:
    v = _main(r)
    levels = [_exact([v], o)]
    if o.typo:
        levels.append({"label": "one_keystroke", "when": _one_keystroke(f"l.{v}", f"r.{v}")})
    return levels


def _levels_address(r: Roles, o: Any) -> Levels:
    v = r["feature"] or []
    levels = [_exact(v, o)]
    if r.get("town"):
        levels.append({"label": "same_town_or_road", "when": _any_equal(r["town"] or [])})
    if o.thresholds and len(v) > 1:
        raise LibraryError("thresholds", "Jaro-Winkler levels need a single address feature")
    return levels + _jw(v[0], o.thresholds)


# -- features a kind derives from a column (column mode) ---------------------------------------------


# A derivation may return ``base``: an expensive normal form (``rid_normalise``, ``name_norm``,
# ``address_parts``) computed once into the private feature ``_lib_<name>`` that the other roles
# read as ``{v}`` (features_sql computes ``_lib_*`` features as columns of an inner SELECT).  Not
# the main feature's own name: an input column of that name would shadow the select-list alias
# (``name`` over column ``name``) and the roles would read the raw column.


def _rid(c: str, o: Any) -> dict[str, str]:
    v = "{v}"
    if o.birth:
        v = (f"CASE WHEN coalesce(abs(date_diff('day', CAST({o.birth} AS DATE), rid_birth_date({v}))), 0) "
             f"<= {o.birth_days} THEN {v} END")
    k = f"id_clean({c})"
    return {
        "base": f"rid_normalise({c})",
        "feature": v,
        "fuzzy": f"CASE WHEN {{v}} IS NULL AND length({k}) BETWEEN 14 AND 19 AND NOT id__placeholder({k}) "
                 f"AND regexp_full_match({k}, '[0-9]{{13,18}}[0-9X]') THEN {k} END",
        "id15": f"CASE WHEN substr({v}, 7, 2) = '19' THEN left({v}, 6) || substr({v}, 9, 9) END",
    }


def _uscc(c: str, o: Any) -> dict[str, str]:
    k = f"id_clean({c})"
    return {
        "base": f"uscc_normalise({c})",
        "feature": "{v}",
        "fuzzy": f"CASE WHEN {{v}} IS NULL AND length({k}) BETWEEN 17 AND 19 AND NOT id__placeholder({k}) THEN {k} END",
        "org": f"coalesce(uscc_org_code({{v}}), CASE WHEN {{v}} IS NULL THEN orgcode_normalise({c}) END)",
    }


def _name(c: str, o: Any) -> dict[str, str]:
    return {"base": f"name_norm({c})", "feature": "{v}", "py": "pinyin_key({v})", "py_plain": "pinyin_key_plain({v})"}


def _date(c: str, o: Any) -> dict[str, str]:
    v = f"CAST(try_strptime(CAST({c} AS VARCHAR), '{o.format}') AS DATE)" if o.format else f"TRY_CAST({c} AS DATE)"
    if o.embedded_in:
        # a resident_id comparison's normalised ID (already computed), else a column to normalise
        rid = o.embedded_in if o.embedded_in.startswith(PRIVATE_PREFIX) else f"rid_normalise({o.embedded_in})"
        v = f"coalesce({v}, rid_birth_date({rid}))"
    return {"feature": v}


def _phone(c: str, o: Any) -> dict[str, str]:
    digits = f"regexp_replace(regexp_replace(CAST({c} AS VARCHAR), '[^0-9]', '', 'g'), '^(0086|86)(1[0-9]{{10}})$', '\\2')"
    return {"base": digits, "feature": "CASE WHEN regexp_full_match({v}, '1[3-9][0-9]{9}') "
                                       "AND NOT id__placeholder(right({v}, 10)) THEN {v} END"}


#: a leading province (省, 自治区) and prefecture (市, 自治州): one department writes them, the next
#: does not.  A plain prefix pattern, not the standard's ``address_parts``: that parses every level
#: and costs ~6x the time of all other features together, and the comparison needs only the rest.
ADDRESS_PREFIX = ("^([^省市区县镇乡路街]{2,3}省|[^省市区县镇乡路街]{2,6}自治区)?"
                  "([^省市区县镇乡路街]{2,4}市|[^省市区县镇乡路街]{2,8}自治州)?")


def _address(c: str, o: Any) -> dict[str, str]:
    return {"base": f"regexp_replace(address_prep({c}), '{ADDRESS_PREFIX}', '')", "feature": "nullif({v}, '')",
            "town": "nullif(regexp_extract({v}, '^.*?(镇|乡|街道|路|大道|街)', 0), '')"}


def _text(c: str, o: Any) -> dict[str, str]:
    return {"feature": f"CAST({c} AS VARCHAR)"}


def _as_is(c: str, o: Any) -> dict[str, str]:
    return {"feature": c}


@dataclass(frozen=True)
class Kind:
    """One library comparison: its roles (parameter -> feature-name suffix in column mode; the
    first, ``feature``, is the value compared), options, levels and column-mode features."""

    doc: str
    roles: dict[str, str]
    options: type[Options]
    levels: Callable[[Roles, Any], Levels]
    derive: Callable[[str, Any], dict[str, str]]
    #: roles whose absence on a side makes the comparison silent
    null_roles: tuple[str, ...] = ("feature",)


_ID_ROLES = {"feature": "", "fuzzy": "_fuzzy"}
KINDS: dict[str, Kind] = {
    "exact": Kind("equal values", {"feature": ""}, Options, _levels_exact, _as_is),
    "jaro_winkler": Kind("exact, then Jaro-Winkler at each threshold", {"feature": ""}, SimilarityOptions,
                         _levels_jw, _text),
    "levenshtein": Kind("exact, then Levenshtein distance at most each threshold", {"feature": ""}, EditOptions,
                        _levels_levenshtein, _text),
    "resident_id": Kind("居民身份证号: 18/15-digit, same invalid text, one keystroke or adjacent swap",
                        {**_ID_ROLES, "id15": "_15"}, IdOptions, _levels_identifier, _rid, ("feature", "fuzzy")),
    "uscc": Kind("统一社会信用代码: exact, same invalid text, one keystroke, same organisation code",
                 {**_ID_ROLES, "org": "_org"}, TypoOptions, _levels_identifier, _uscc, ("feature", "fuzzy")),
    "org_code": Kind("组织机构代码: exact, one keystroke", {"feature": ""}, TypoOptions, _levels_identifier,
                     lambda c, o: {"feature": f"orgcode_normalise({c})"}),
    "chinese_name": Kind("personal name: exact, same pinyin, Jaro-Winkler",
                         {"feature": "", "py": "_py", "py_plain": "_py_plain"}, NameOptions, _levels_name, _name),
    "date": Kind("date: exact, keying error (day/month swap, a digit, a few days, a year)", {"feature": ""},
                 DateOptions, _levels_date, _date),
    "mobile": Kind("mobile phone: exact, one keystroke", {"feature": ""}, TypoOptions, _levels_phone, _phone),
    "address": Kind("address: exact, same town or road, Jaro-Winkler", {"feature": "", "town": "_town"},
                    AddressOptions, _levels_address, _address),
}


# -- expansion ---------------------------------------------------------------------------------------

_IDENT_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")
#: options that describe input columns, so they only make sense when the features are derived
_COLUMN_ONLY = ("birth", "birth_days", "format", "embedded_in")


def _option_names(kind: Kind) -> list[str]:
    return list(kind.options.model_fields)


def _options(kind: Kind, use: str, entry: dict[str, Any], loc: str) -> Any:
    """The entry's options, validated; an unknown parameter names the ones the kind takes."""
    known = {"name", "use", "column", *kind.roles, *_option_names(kind)}
    for key in entry:
        if key not in known:
            raise LibraryError(f"{loc}.{key}", f"unknown parameter of '{use}' (takes: {', '.join(sorted(known))})")
    if "column" not in entry:
        for key in _COLUMN_ONLY:
            if key in entry:
                raise LibraryError(f"{loc}.{key}", "only with 'column' (it describes the input's columns)")
    try:
        opts = kind.options.model_validate({k: v for k, v in entry.items() if k in kind.options.model_fields})
    except ValidationError as exc:
        e = exc.errors()[0]
        raise LibraryError(".".join([loc, *map(str, e["loc"])]), e["msg"].removeprefix("Value error, ")) from None
    thresholds = getattr(opts, "thresholds", None)
    if thresholds and thresholds != sorted(thresholds, reverse=isinstance(thresholds[0], float)):
        raise LibraryError(f"{loc}.thresholds", "list the thresholds from the closest agreement down")
    return opts


def _derived_roles(kind: Kind, name: str, column: object, opts: Any, loc: str, features: dict[str, str]) -> Roles:
    """Column mode: add the kind's features (``<name><suffix>``) to ``features``; their roles."""
    if not isinstance(column, str) or not column.strip():
        raise LibraryError(f"{loc}.column", "give an SQL expression over the input's columns")
    sqls = kind.derive(column, opts)
    base = f"{PRIVATE_PREFIX}{name}"
    if "base" in sqls:
        if base in features:
            raise LibraryError(f"{loc}.name", f"feature {base!r} is declared already (the library's own name)")
        features[base] = sqls.pop("base")
    roles: Roles = {}
    for role, suffix in kind.roles.items():
        roles[role] = None
        if role in sqls:
            fname = name + suffix
            if fname in features:
                raise LibraryError(f"{loc}.column", f"would add feature {fname!r}, which is declared already "
                                                    f"(rename the comparison or use 'feature')")
            features[fname] = sqls[role].replace("{v}", base)
            roles[role] = [fname]
    return roles


def _declared_roles(kind: Kind, use: str, name: str, entry: dict[str, Any], loc: str,
                    features: dict[str, str]) -> Roles:
    """Feature mode: the declared features named by the role parameters (``feature`` defaults to
    the comparison's name)."""
    roles: Roles = {}
    for role in kind.roles:
        value = entry.get(role, name if role == "feature" else None)
        names = value if isinstance(value, list) else None if value is None else [value]
        for f in names or []:
            if not isinstance(f, str) or f not in features:
                hint = " (declare it under 'features', or give 'column')" if role == "feature" else ""
                raise LibraryError(f"{loc}.{role}", f"unknown feature {f!r}{hint}")
        if names is not None and (not names or (len(names) > 1 and use != "address")):
            raise LibraryError(f"{loc}.{role}", "name one feature" + (" or a list" if use == "address" else ""))
        roles[role] = names
    return roles


def expand_entry(entry: dict[str, Any], loc: str, features: dict[str, str],
                 made: dict[str, tuple[str, Roles]]) -> dict[str, Any]:
    """One ``use:`` entry as a plain comparison (``name``, ``null_when``, ``levels``); features the
    entry derives are added to ``features``, its kind and roles to ``made`` (for blocking rules)."""
    use = entry.get("use")
    kind = KINDS.get(use) if isinstance(use, str) else None
    if kind is None or not isinstance(use, str):
        raise LibraryError(f"{loc}.use", f"unknown comparison {use!r} (known: {', '.join(KINDS)})")
    name = entry.get("name")
    if not isinstance(name, str) or not name or not set(name) <= _IDENT_CHARS or name[0].isdigit():
        raise LibraryError(f"{loc}.name", f"give a lower_snake_case name, not {name!r}")
    opts = _options(kind, use, entry, loc)
    if "column" in entry:
        given = [r for r in kind.roles if r in entry]
        if given:
            raise LibraryError(f"{loc}.{given[0]}", "give 'column' (features derived) or feature names, not both")
        ref = getattr(opts, "embedded_in", None)
        if ref in made and made[ref][0] == "resident_id" and f"{PRIVATE_PREFIX}{ref}" in features:
            opts = opts.model_copy(update={"embedded_in": f"{PRIVATE_PREFIX}{ref}"})
        roles = _derived_roles(kind, name, entry["column"], opts, loc, features)
    else:
        roles = _declared_roles(kind, use, name, entry, loc, features)
    try:
        levels = kind.levels(roles, opts)
    except LibraryError as exc:
        raise LibraryError(f"{loc}.{exc.loc}", exc.msg) from None
    if opts.swapped_with:
        levels.append(_swapped_level(roles, opts, use, loc))
    made[name] = (use, roles)
    return {"name": name, "null_when": _null_when(*(roles[r] for r in kind.null_roles)), "levels": levels}


def _swapped_level(roles: Roles, opts: Any, use: str, loc: str) -> dict[str, Any]:
    """``l``'s value is ``r``'s other feature or the reverse (similar at the first Jaro-Winkler
    threshold for ``jaro_winkler``, else equal)."""
    mine, other = roles["feature"] or [], opts.swapped_with
    if len(mine) != 1:
        raise LibraryError(f"{loc}.swapped_with", "needs a single feature")
    v = mine[0]
    if use == "jaro_winkler" and opts.thresholds:
        t = opts.thresholds[0]
        when = f"jaro_winkler_similarity(l.{v}, r.{other}) >= {t} OR jaro_winkler_similarity(l.{other}, r.{v}) >= {t}"
    else:
        when = f"l.{v} = r.{other} OR l.{other} = r.{v}"
    return {"label": f"swapped_with_{other}", "when": when}


def expand_blocking(entry: dict[str, Any], loc: str, made: dict[str, tuple[str, Roles]]) -> dict[str, Any]:
    """A ``use: one_keystroke`` blocking rule: records whose invalid identifier text (the
    comparison's ``fuzzy`` feature) is one keystroke or an adjacent swap away from a valid one - an
    exact join on every variant of the text (for resident IDs also the 15-digit legacy form)."""
    if entry.get("use") != "one_keystroke":
        raise LibraryError(f"{loc}.use", f"unknown blocking rule {entry.get('use')!r} (known: one_keystroke)")
    comp = entry.get("comparison")
    if comp not in made or made[comp][0] not in ("resident_id", "uscc"):
        ids = [n for n, (u, _r) in made.items() if u in ("resident_id", "uscc")]
        raise LibraryError(f"{loc}.comparison", f"name a resident_id or uscc comparison of the library "
                                                f"({', '.join(ids) or 'there is none'}), not {comp!r}")
    use, roles = made[comp]
    fz, v, id15 = _one(roles, "fuzzy"), _main(roles), _one(roles, "id15")
    if not fz:
        raise LibraryError(f"{loc}.comparison", f"comparison {comp!r} has no 'fuzzy' feature (invalid texts)")
    if use == "uscc":
        variants, right = [{"alphabet": USCC_ALPHABET, "length": 18}], str(v)
    elif id15:
        variants = [{"alphabet": RID_ALPHABET, "length": 18}, {"alphabet": "0123456789", "length": 15}]
        right = f"unnest([{v}, {id15}])"
    else:
        variants, right = [{"alphabet": RID_ALPHABET, "length": 18}], str(v)
    rest = {k: val for k, val in entry.items() if k not in ("use", "comparison")}
    return {**rest, "left": [fz], "right": [right], "variants": variants}


def expand(raw: dict[str, Any]) -> dict[str, Any]:
    """A configuration document with every ``use:`` comparison and blocking rule expanded (others
    kept as written)."""
    comps, blocks = raw.get("comparisons"), raw.get("blocking")
    declared = raw.get("features", {})
    if not isinstance(comps, list) or not isinstance(declared, dict):
        return raw  # the model's validation names the defect
    features: dict[str, str] = dict(declared)
    made: dict[str, tuple[str, Roles]] = {}
    out: list[Any] = []
    for i, c in enumerate(comps):
        if isinstance(c, dict) and "use" in c:
            out.append(expand_entry(c, f"comparisons[{i}]", features, made))
        else:
            out.append(c)
    for i, c in enumerate(comps):
        other = c.get("swapped_with") if isinstance(c, dict) and "use" in c else None
        if other is not None and other not in features:
            raise LibraryError(f"comparisons[{i}].swapped_with", f"unknown feature {other!r}")
    body = {**raw, "features": features, "comparisons": out}
    if isinstance(blocks, list):
        body["blocking"] = [expand_blocking(b, f"blocking[{i}]", made) if isinstance(b, dict) and "use" in b else b
                            for i, b in enumerate(blocks)]
    return body


def describe() -> list[dict[str, Any]]:
    """Every library comparison with its roles and options (for documentation and ``--help``)."""
    return [{"use": use, "doc": k.doc, "roles": list(k.roles), "options": _option_names(k)}
            for use, k in KINDS.items()]
