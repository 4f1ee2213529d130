"""Customer search: by name, email, phone or loyalty id, as the associate types.

Tolerant to case, accents and one typo per word, on plain PostgreSQL (no pg_trgm, unaccent or
fuzzystrmatch: the embedded pgserver lacks them). How:

* ``profiles_customer.search_tokens`` is a ``text[]`` column (created by migration ``search_fields``,
  invisible to the ORM so that ordinary customer queries never load it) holding what the SQL function
  ``profiles_search_tokens(first, last, preferred)`` returns. Triggers (migration ``search_tokens_trigger``)
  compute it on every INSERT that leaves it out and every UPDATE that changes a name; the importer writes it
  itself (``search_tokens_literal``), which saves the database one PL/pgSQL call per new customer. It holds,
  for every word of her names folded (lowercase, accents stripped, apostrophes dropped):

  - the word's prefixes from 2 letters up ("chr", "chri", ... "christine"): as-you-type prefix search;
  - ``~word`` and ``~`` + every one-letter deletion of the word ("~hristine", "~cristine", ...): one-edit
    typo tolerance by the symmetric-deletion trick. Two words are at most one edit apart (insertion,
    deletion, substitution or swap of neighbours) exactly when their ``{word} + deletions`` sets meet.

  A GIN index on the column answers ``search_tokens @> ARRAY[...]`` (prefixes of every typed word) and
  ``search_tokens && ARRAY[...]`` (typo variants) without scanning the table.
* Emails match exactly or by prefix, phones by their last digits (a reversed-value index), loyalty ids
  exactly: partial indexes on ``profiles_identifier`` serve each.

The Python ``fold`` below mirrors the SQL function character for character (a test compares them).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.db import connection, transaction

MIN_QUERY_LENGTH = 2
MIN_TYPO_WORD = 4  # shorter words get no typo tolerance: "ann" would match half the shop
MAX_WORD = 24
RESULT_LIMIT = 20
# Each way of matching contributes at most this many candidates before they are ranked: a two-letter
# prefix matches a tenth of the shop, and sorting 100k rows to show 20 costs a second at 1M customers.
# Past the cap the page asks the associate to keep typing.
CANDIDATES_PER_BRANCH = 500


def _fold_table() -> tuple[str, str]:
    """Characters whose NFKD form is one base letter, mapped to it lowercased (what SQL translate() takes)."""
    src, dst = [], []
    for cp in [*range(0x41, 0x5B), *range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        char = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)).lower()
        if len(base) == 1 and base != char:
            src.append(char)
            dst.append(base)
    # Letters NFKD leaves alone but nobody types with their stroke on a tablet keyboard.
    for char, base in (("ø", "o"), ("đ", "d"), ("ł", "l"), ("ħ", "h"), ("ŧ", "t"), ("ı", "i")):
        src.append(char)
        dst.append(base)
    return "".join(src), "".join(dst)


FOLD_FROM, FOLD_TO = _fold_table()
APOSTROPHES = "'\u2019\u02bc"
_TRANSLATION = {ord(a): b for a, b in zip(FOLD_FROM, FOLD_TO, strict=True)} | {ord(a): None for a in APOSTROPHES}
_SPLIT = re.compile(r"[\s.,;/_-]+")


def fold(text: str) -> str:
    """Lowercase, accents stripped (NFKD), apostrophes dropped: "Zoë O'Brien" -> "zoe obrien"."""
    folded = (text or "").translate(_TRANSLATION)
    return folded.replace("ß", "ss").replace("æ", "ae").replace("œ", "oe").lower()


def words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(fold(text)) if w]


def deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def word_tokens(word: str) -> set[str]:
    """One folded word's tokens: its prefixes from 2 letters, and ``~`` + the word and its one-letter deletions."""
    tokens = {word[:i] for i in range(min(2, len(word)), min(len(word), MAX_WORD) + 1)}
    if 3 <= len(word) <= MAX_WORD:
        tokens.add("~" + word)
        tokens.update("~" + variant for variant in deletions(word))
    return tokens


def search_tokens(first_name: str, last_name: str, preferred_name: str = "") -> set[str]:
    """What the SQL function ``profiles_search_tokens`` stores (as a set; the function sorts them)."""
    tokens: set[str] = set()
    for word in words(f"{first_name} {last_name} {preferred_name}"):
        tokens |= word_tokens(word)
    return tokens


_MEMO_LIMIT = 100_000  # distinct names, and distinct (first, last, preferred), remembered by search_tokens_literal
_name_memo: dict[str, tuple[frozenset[str], bool] | None] = {}
_names_memo: dict[tuple[str, str, str], str | None] = {}
_UNKNOWN = object()


def _twin_is_exact(name: str) -> bool:
    """Whether the database folds and splits ``name`` exactly like ``words`` whatever its locale.

    The Latin letters are folded by the same translate() table on both sides, but lower() and the regex ``\\s``
    of other scripts follow the database's LC_CTYPE (a "C" database lowercases ASCII only, glibc has no final
    sigma, no-break spaces do not split...): names with an uppercase letter of another script, a control
    character or a non-ASCII space are left to the database.
    """
    if name.isascii():
        return name.isprintable()
    return all(c.isprintable() and (c.isascii() or c.lower() == c) for c in name.translate(_TRANSLATION))


def _name_tokens(name: str) -> tuple[frozenset[str], bool] | None:
    """The tokens of one name and whether any needs escaping in array text; None when only SQL can tell."""
    found = _name_memo.get(name, _UNKNOWN)
    if found is not _UNKNOWN:
        return found
    found = None
    if _twin_is_exact(name):
        tokens: set[str] = set()
        for word in words(name):
            tokens |= word_tokens(word)
        found = (frozenset(tokens), '"' in name or "\\" in name)
    if len(_name_memo) < _MEMO_LIMIT:
        _name_memo[name] = found
    return found


def search_tokens_literal(first_name: str, last_name: str, preferred_name: str = "") -> str | None:
    """``profiles_search_tokens(first, last, preferred)`` as the text of a PostgreSQL array, or None (a NULL the
    column's insert trigger replaces by the function's value) for the rare names only the database can fold
    exactly. The importer writes it into ``search_tokens`` so that the database need not compute it.

    Sorted by code point like the function (``COLLATE "C"``), every element quoted ("null" is a name prefix,
    not a NULL). Memoized per name and per triple: an import's customers share a limited pool of names.
    """
    key = (first_name, last_name, preferred_name)
    literal = _names_memo.get(key, _UNKNOWN)
    if literal is not _UNKNOWN:
        return literal
    first, last, preferred = _name_tokens(first_name), _name_tokens(last_name), _name_tokens(preferred_name)
    if first is None or last is None or preferred is None:
        literal = None
    else:
        ordered = sorted(first[0].union(last[0], preferred[0]))
        if first[1] or last[1] or preferred[1]:
            ordered = [token.replace("\\", "\\\\").replace('"', '\\"') for token in ordered]
        literal = '{"' + '","'.join(ordered) + '"}' if ordered else "{}"
    if len(_names_memo) < _MEMO_LIMIT:
        _names_memo[key] = literal
    return literal


# The SQL twin of search_tokens(); migrations ``search_tokens_faster`` and ``search_tokens_trigger`` create it from
# this text. Only pg_catalog built-ins (and PL/pgSQL, present in every database), so that a pg_dump restore (empty
# search_path) could recompute the column when it was generated. Every new customer pays for it (an import creates ~200k per 1M rows), hence two shortcuts
# over the plain-SQL first version (migration ``search_fields``), with the same tokens: only names with a Latin
# letter beyond ASCII go through the ~700-character translate() table (everything else just lowercases), and
# the tokens are collected in a loop rather than three set-returning subqueries per word. 211k names of the
# import benchmark: 7.1 s -> 3.4 s (tests hold it to the Python twin on both paths). It sorts by code point
# (``COLLATE "C"``) so that the importer's Python-sorted tokens are its value whatever the database's collation.
_FUNCTION_PARTS = {
    "latin": "\u00c0-\u024f\u1e00-\u1eff",  # every letter of the fold table but A-Z is in these two blocks
    "from": FOLD_FROM + APOSTROPHES.replace("'", "''"),
    "to": FOLD_TO,
    "apostrophes": APOSTROPHES.replace("'", "''"),
    "max": MAX_WORD,
}
_FUNCTION_TEMPLATE = r"""
CREATE OR REPLACE FUNCTION profiles_search_tokens(first_name text, last_name text, preferred_name text)
RETURNS text[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
  names text := coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(preferred_name, '');
  word text;
  size int;
  n int;
  tokens text[] := '{}';
BEGIN
  IF names ~ '[%(latin)s]' THEN
    names := pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
      pg_catalog.translate(names, '%(from)s', '%(to)s'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe');
  ELSE
    names := pg_catalog.translate(names, '%(apostrophes)s', '');
  END IF;
  FOREACH word IN ARRAY pg_catalog.regexp_split_to_array(pg_catalog.lower(names), '[\s.,;/_-]+') LOOP
    CONTINUE WHEN word = '';
    size := pg_catalog.length(word);
    FOR n IN least(2, size)..least(size, %(max)s) LOOP
      tokens := tokens || pg_catalog.left(word, n);
    END LOOP;
    IF size BETWEEN 3 AND %(max)s THEN
      tokens := tokens || ('~' || word);
      FOR n IN 1..size LOOP
        tokens := tokens || ('~' || pg_catalog.left(word, n - 1) || pg_catalog.substr(word, n + 1));
      END LOOP;
    END IF;
  END LOOP;
  RETURN ARRAY(SELECT DISTINCT token COLLATE pg_catalog."C" FROM pg_catalog.unnest(tokens) AS token ORDER BY 1);
END
$fn$;
"""
SEARCH_TOKENS_FUNCTION = _FUNCTION_TEMPLATE % _FUNCTION_PARTS


@dataclass(frozen=True)
class Query:
    """A typed search, split into what each index can answer."""

    prefixes: list[str]  # every folded word, each must start one of her names
    typo_sets: list[list[str]]  # per word (same order): variants matching within one edit ([] when too short)
    email: str  # lowercased text when it could start an email address
    phone_digits: str  # reversed trailing digits when the text looks like a phone number
    loyalty_ids: list[str]

    @property
    def is_empty(self) -> bool:
        return not (self.prefixes or self.email or self.phone_digits or self.loyalty_ids)


def parse(text: str) -> Query:
    raw = (text or "").strip()[:100]
    if len(raw) < MIN_QUERY_LENGTH:
        return Query([], [], "", "", [])
    digits = re.sub(r"\D", "", raw)
    looks_like_phone = bool(re.fullmatch(r"[\d\s()+.\-]+", raw)) and len(digits) >= 4
    prefixes = [] if looks_like_phone or "@" in raw else [w[:MAX_WORD] for w in words(raw)][:4]
    typo_sets = [
        sorted({"~" + w} | {"~" + d for d in deletions(w)}) if MIN_TYPO_WORD <= len(w) <= MAX_WORD else []
        for w in prefixes
    ]
    email = raw.lower() if " " not in raw and len(raw) >= 3 else ""
    # A national number ("06 12 34 56 78") and the E.164 one ("+33612345678") share their last 8 digits.
    phone = digits.lstrip("0")[-8:] if looks_like_phone else ""
    loyalty = sorted({raw, raw.upper()}) if " " not in raw else []
    return Query(prefixes, typo_sets, email, phone[::-1], loyalty)


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def customer_ids_matching(text: str, *, limit: int = RESULT_LIMIT) -> list[int]:
    """Ids of live customers matching ``text``, best first: exact prefixes and identifiers, then typos.

    One SQL statement whatever the number of matches; every branch is served by an index.
    """
    query = parse(text)
    if query.is_empty:
        return []
    branches, params = [], []
    if query.prefixes:
        branches.append("SELECT id AS customer_id, 0 AS rank FROM profiles_customer WHERE search_tokens @> %s::text[]")
        params.append(query.prefixes)
        if any(query.typo_sets):
            # Every word matches by prefix or (long enough words) within one edit; typo hits rank second.
            conditions = []
            for prefix, variants in zip(query.prefixes, query.typo_sets, strict=True):
                if variants:
                    conditions.append("(search_tokens @> ARRAY[%s]::text[] OR search_tokens && %s::text[])")
                    params.extend([prefix, variants])
                else:
                    conditions.append("search_tokens @> ARRAY[%s]::text[]")
                    params.append(prefix)
            branches.append(f"SELECT id, 1 FROM profiles_customer WHERE {' AND '.join(conditions)}")  # noqa: S608
    if query.email:
        branches.append(
            "SELECT customer_id, 0 AS rank FROM profiles_identifier WHERE kind = 'email' AND namespace = '' AND value LIKE %s"
        )
        params.append(_like_prefix(query.email))
    if query.phone_digits:
        branches.append(
            "SELECT customer_id, 0 AS rank FROM profiles_identifier WHERE kind = 'phone' AND namespace = '' "
            "AND reverse(value) LIKE %s"
        )
        params.append(_like_prefix(query.phone_digits))
    if query.loyalty_ids:
        branches.append(
            "SELECT customer_id, 0 AS rank FROM profiles_identifier "
            "WHERE kind = 'loyalty_id' AND namespace = '' AND value = ANY(%s)"
        )
        params.append(query.loyalty_ids)
    sql = f"""
        WITH hits AS ({" UNION ALL ".join(f"({branch} LIMIT {CANDIDATES_PER_BRANCH})" for branch in branches)}),
        best AS (SELECT customer_id, min(rank) AS rank FROM hits GROUP BY customer_id)
        SELECT c.id FROM best JOIN profiles_customer c ON c.id = best.customer_id
        WHERE c.merged_into_id IS NULL AND c.erased_at IS NULL
        ORDER BY best.rank, c.last_name, c.first_name, c.id
        LIMIT %s
    """  # noqa: S608 - only fixed SQL fragments are interpolated; values are parameters
    params.append(limit)
    with transaction.atomic(), connection.cursor() as cursor:
        # Array statistics cannot tell "lefevre martin" (rare) from "ch" (common): under the per-branch
        # LIMIT the planner then bets on a sequential scan finding 500 rows early, and reads 1M rows when
        # it loses (4 s). Every branch has an index made for it; use them.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
