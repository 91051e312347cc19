"""Accent- and case-insensitive search over works: "tucume" finds "Túcume", and a supplier's
name or RUC finds the works it was awarded. Each work's projection row keeps `search_key`,
the folded text of what a reader searches by, rebuilt whenever the work changes."""

from __future__ import annotations

import functools
import re
import unicodedata

from lifecycle.model import Work

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """NFKC, case folded, accents removed, whitespace collapsed: how both sides compare."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return _SPACES.sub(" ", text).strip()


def _parties(award: dict | None) -> list[str]:
    """The awarded supplier and consortium members: their names and RUCs."""
    if not award:
        return []
    found = []
    for party in [award.get("supplier"), *(award.get("consortium") or [])]:
        if isinstance(party, dict):
            found += [str(party.get("name") or ""), str(party.get("tax_id") or "")]
        elif party:
            found.append(str(party))
    return found


def search_key(work: Work) -> str:
    """The folded text a work is found by: code, title, entity, CUI, province, district and
    the awarded supplier's (and consortium's) names and RUCs, separated by ' | '."""
    parts = [work.code, work.title, work.entity, work.cui or "", work.province or "",
             work.district or "", *_parties(work.award)]
    return " | ".join(_fold_field(p) for p in parts if p)


# Every write folds its work's code, title and places again; they rarely change. (Searches
# fold the reader's query with `fold` itself: a cache of arbitrary queries could grow large.)
_fold_field = functools.lru_cache(maxsize=4096)(fold)
