"""Languages of the web pages: gettext catalogs compiled from lifecycle/locale, the reader's
choice (a cookie set by the switch on every page, else Accept-Language, else Spanish), and
Babel formatting of dates, numbers and money in that language."""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations
from starlette.requests import Request

import lifecycle
from lifecycle.log.canonical import parse_time

LOCALE_DIR = Path(lifecycle.__file__).parent / "locale"
LANGUAGES = {"es": "Español", "en": "English"}
DEFAULT_LANGUAGE = "es"
LANGUAGE_COOKIE = "lifecycle_lang"
# Numbers, money and dates as readers in Peru write them (S/ 12,500,000.00 in Spanish).
FORMAT_LOCALES = {"es": "es_PE", "en": "en"}
# The works are in Peru; show times there unless the operator says otherwise.
TIMEZONE = ZoneInfo(os.environ.get("LIFECYCLE_TIMEZONE", "America/Lima"))


@lru_cache(maxsize=None)
def translations(lang: str) -> NullTranslations:
    """The compiled catalog of a language (English msgids need no catalog to read well)."""
    return Translations.load(str(LOCALE_DIR), [lang], domain="messages")


def from_accept_language(header: str) -> str | None:
    """The first language of an Accept-Language header that we serve, by quality."""
    choices = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        choices.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(choices):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return None


def language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return from_accept_language(request.headers.get("accept-language", "")) or DEFAULT_LANGUAGE


class Formats:
    """Formatting in one reader's language, for templates and the sentences built in Python."""

    def __init__(self, lang: str):
        self.lang = lang
        try:
            self.locale = Locale.parse(FORMAT_LOCALES.get(lang, lang))
        except UnknownLocaleError:  # pragma: no cover - LANGUAGES holds known codes
            self.locale = Locale.parse(DEFAULT_LANGUAGE)

    def datetime(self, value: str | datetime | None, fmt: str = "medium") -> str:
        if not value:
            return ""
        moment = parse_time(value) if isinstance(value, str) else value
        return format_datetime(moment, fmt, tzinfo=TIMEZONE, locale=self.locale)

    @staticmethod
    def machine_time(value: str) -> str:
        """A log time for a `datetime` attribute: HTML takes at most three fractional digits
        (the log keeps six)."""
        if isinstance(value, str) and len(value) == 27 and value[19] == ".":
            return value[:23] + "Z"
        return value

    def date(self, value: str | datetime | None) -> str:
        if not value:
            return ""
        moment = parse_time(value) if isinstance(value, str) else value
        return format_date(moment.astimezone(TIMEZONE), "medium", locale=self.locale)

    def number(self, value) -> str:
        return format_decimal(value, locale=self.locale)

    def money(self, amount, currency: str) -> str:
        try:
            return format_currency(Decimal(str(amount)), currency, locale=self.locale)
        except (InvalidOperation, ValueError):
            return f"{amount} {currency}"

    def size(self, size: int) -> str:
        """A file size for people (1 KB = 1024 bytes), with the exact byte count kept nearby."""
        units = ["B", "KB", "MB", "GB"]
        value = float(size)
        for unit in units:
            if value < 1024 or unit == units[-1]:
                break
            value /= 1024
        shown = format_decimal(round(value, 1), format="#,##0.#", locale=self.locale)
        return f"{shown} {unit}"
