"""Organization names compared only after normalization (DESIGN §3), for search and for
warnings about likely duplicates — never to decide independence, which compares ids."""

from __future__ import annotations

import re
import unicodedata

# Legal-form suffixes of Peruvian companies and associations, as normalized text.
_LEGAL_FORMS = ("sac", "saa", "sa", "srl", "eirl", "scrl", "sc", "ltda", "asociacion civil")
_PUNCTUATION = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def normalize_name(name: str) -> str:
    """NFKC, case folded, accents removed, punctuation dropped, whitespace collapsed, and a
    trailing legal form (S.A.C., E.I.R.L., …) removed: "Constructora Andina S.A.C." and
    "CONSTRUCTORA  ANDINA SAC" normalize alike."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    text = _SPACES.sub(" ", _PUNCTUATION.sub("", text)).strip()
    for form in _LEGAL_FORMS:
        if text.endswith(" " + form):
            text = text[: -len(form) - 1].rstrip()
            break
    return text
