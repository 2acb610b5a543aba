"""SQL macros of the matching engine (comparison and blocking helpers), installed per connection.

Kept as plain DuckDB SQL that sqlglot parses, like the standard's identifier and text macros, so
configuration files can call them and the generated statements still transpile.  Lambda parameters
carry ``__`` names so a macro argument never captures them.

* ``id_variants(s, alphabet)``: every string one keystroke away from ``s`` - one character
  replaced, two adjacent characters swapped, one deleted, one inserted.  Blocking a mistyped ID on
  its variants against valid IDs finds the person it was meant for with an exact hash join,
  instead of computing an edit distance against every ID (a typo'd 18-character ID has ~450
  variants; a valid ID at edit distance 1 is almost always unique because check digits differ).
* ``id_variants_to(s, alphabet, n)``: the same, restricted to variants of length ``n``.
* ``edit1_or_swap(a, b)``: true when ``a`` and ``b`` differ by one edit or one transposition;
  transpositions are detected as "same multiset of characters and Levenshtein 2", because
  ``damerau_levenshtein`` is ~20x slower than ``levenshtein``.
* ``date_typo(a, b)``: two different dates that a clerk plausibly keyed for the same one - day and
  month swapped, a few days off, the year off by one, or one digit of YYYYMMDD wrong.
* ``hash63(s)``: the top 63 bits of the MD5 of a string, as a non-negative BIGINT - record numbers
  and training's hash samples.  MD5 is computed the same by every engine (DuckDB's ``hash()`` is
  its own and changes between versions), so the Spark engine numbers and samples records exactly
  as DuckDB does; :func:`sample_hash` builds the argument from several values and a seed.
* ``is_blank(x)`` / ``blank_null(x)``: an empty or whitespace-only string (any Unicode space) is no
  value: as a feature or blocking key it would make every such record agree with every other (the
  README example's empty phone was one key shared by 36,522 records). For any other type
  ``typeof`` folds to a constant when the query is bound, so the guard costs nothing there.
"""

from __future__ import annotations

from pipelines.resolve.sql import Sql
from standards.text import WS_CLASS

RID_ALPHABET = "0123456789X"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

MACROS: dict[str, tuple[tuple[str, ...], str]] = {
    "id_variants": (
        ("s", "alphabet"),
        "list_concat("
        "flatten(list_transform(range(1, length(s) + 1), lambda __p: list_transform(str_split(alphabet, ''), "
        "lambda __c: left(s, __p - 1) || __c || substr(s, __p + 1)))), "
        "list_transform(range(1, length(s)), "
        "lambda __p: left(s, __p - 1) || substr(s, __p + 1, 1) || substr(s, __p, 1) || substr(s, __p + 2)), "
        "list_transform(range(1, length(s) + 1), lambda __p: left(s, __p - 1) || substr(s, __p + 1)), "
        "flatten(list_transform(range(1, length(s) + 2), lambda __p: list_transform(str_split(alphabet, ''), "
        "lambda __c: left(s, __p - 1) || __c || substr(s, __p)))))",
    ),
    # CASE, not AND: DuckDB evaluates a CASE branch only for the rows that reach it, so the list
    # sorting runs on the rare pairs at Levenshtein distance 2, not on every compared pair
    # only the variants of one length ``n`` (the length of the keys they are joined with): half
    # the strings of id_variants for an ID of the right length
    "id_variants_to": (
        ("s", "alphabet", "n"),
        "CASE WHEN length(s) = n THEN list_concat("
        "flatten(list_transform(range(1, n + 1), lambda __p: list_transform(str_split(alphabet, ''), "
        "lambda __c: left(s, __p - 1) || __c || substr(s, __p + 1)))), "
        "list_transform(range(1, n), "
        "lambda __p: left(s, __p - 1) || substr(s, __p + 1, 1) || substr(s, __p, 1) || substr(s, __p + 2))) "
        "WHEN length(s) = n + 1 THEN list_transform(range(1, n + 2), lambda __p: left(s, __p - 1) || substr(s, __p + 1)) "
        "WHEN length(s) = n - 1 THEN flatten(list_transform(range(1, n + 1), lambda __p: list_transform("
        "str_split(alphabet, ''), lambda __c: left(s, __p - 1) || __c || substr(s, __p)))) "
        "ELSE CAST([] AS VARCHAR[]) END",
    ),
    "is_swap": (
        ("a", "b"),
        "CASE WHEN length(a) <> length(b) THEN FALSE WHEN hamming(a, b) <> 2 THEN FALSE "
        "WHEN levenshtein(a, b) <> 2 THEN FALSE "
        "ELSE list_sort(str_split(a, '')) = list_sort(str_split(b, '')) END",
    ),
    # equal lengths: Hamming distance (linear) decides; only a length difference of one needs the
    # quadratic Levenshtein
    "edit1_or_swap": (
        ("a", "b"),
        "CASE WHEN a IS NULL OR b IS NULL OR a = b THEN FALSE "
        "WHEN length(a) = length(b) THEN hamming(a, b) = 1 OR is_swap(a, b) "
        "WHEN abs(length(a) - length(b)) = 1 THEN levenshtein(a, b) = 1 ELSE FALSE END",
    ),
    # one wrong digit of YYYYMMDD leaves two of year, month, day equal: only then is the string
    # comparison worth formatting for
    "date_typo": (
        ("a", "b"),
        "CASE WHEN a IS NULL OR b IS NULL OR a = b THEN FALSE "
        "WHEN abs(date_diff('day', a, b)) <= 3 THEN TRUE "
        "WHEN year(a) = year(b) AND month(a) = day(b) AND day(a) = month(b) THEN TRUE "
        "WHEN month(a) = month(b) AND (day(a) = day(b) OR (day(a) >= 28 AND day(b) >= 28)) "
        "AND abs(year(a) - year(b)) = 1 THEN TRUE "
        "WHEN CAST(year(a) = year(b) AS INTEGER) + CAST(month(a) = month(b) AS INTEGER) "
        "+ CAST(day(a) = day(b) AS INTEGER) < 2 THEN FALSE "
        "ELSE levenshtein(strftime(a, '%Y%m%d'), strftime(b, '%Y%m%d')) = 1 END",
    ),
    "hash63": (("s",), "CAST(md5_number(s) >> 65 AS BIGINT)"),
    "is_blank": (
        ("x",),
        f"(typeof(x) = 'VARCHAR' AND regexp_full_match(CAST(x AS VARCHAR), '{WS_CLASS}*'))",
    ),
    "blank_null": (("x",), "CASE WHEN is_blank(x) THEN NULL ELSE x END"),
}


def install_resolve_macros(sql: Sql) -> None:
    """Create the engine's macros on the engine's connection (safe to repeat)."""
    for name, (params, body) in MACROS.items():
        sql.define_macro(name, params, body)


def sample_hash(exprs: list[str], seed: int) -> str:
    """SQL: a reproducible 63-bit hash of the values of ``exprs`` under ``seed`` (``hash63`` of
    their text joined with a separator no value holds), identical on every engine."""
    parts = ", ".join(f"CAST({e} AS VARCHAR)" for e in exprs)
    return f"hash63(concat_ws(chr(31), {parts}, '{int(seed)}'))"
