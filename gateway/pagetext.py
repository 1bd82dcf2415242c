"""The words of the pages the server writes itself (not-found and refused pages), in the reader's language.

The browser pages choose their language from ``navigator.languages`` with an English fallback
(``web/common/i18n.js``); these pages follow the same rule through ``Accept-Language``, which
carries the same list, so a patient reads one language from the booking page to its 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

LANGUAGES: Final = ("en", "de")
"""What the pages are written in; the first is the fallback."""

TEXT: Final[dict[str, dict[str, str]]] = {
    "en": {
        "book.title": "Booking page not found",
        "book.heading": "We could not open this booking page",
        "book.no_doctor": "We could not find this doctor. The link may be old or mistyped.",
        "book.not_offered": "{doctor} has no appointment of this kind to book online.",
        "book.hint": "Please check the link you were sent, or contact the clinic for a new one.",
        "clinic.title": "Clinic not found",
        "clinic.heading": "We could not find this clinic",
        "clinic.message": "The link may be old or mistyped. Please check the address, or contact the clinic.",
        "manage.invalid.title": "We could not open this link",
        "manage.invalid": "This link is not a valid link to manage a booking.",
        "manage.expired.title": "This link has expired",
        "manage.expired": "Links to manage a booking stop working when the appointment is over.",
        "manage.moved.title": "This appointment was moved",
        "manage.moved": "This appointment was moved to another time.",
        "manage.moved_to": "This appointment was moved to {when}.",
        "manage.moved_cancelled": "That appointment was later cancelled.",
        "manage.hint": "Please use the link in your latest email from the clinic, or contact the clinic.",
    },
    "de": {
        "book.title": "Buchungsseite nicht gefunden",
        "book.heading": "Wir konnten diese Buchungsseite nicht öffnen",
        "book.no_doctor": "Wir konnten diese Ärztin oder diesen Arzt nicht finden. Der Link ist vielleicht veraltet "
        "oder falsch geschrieben.",
        "book.not_offered": "Bei {doctor} ist diese Terminart nicht online buchbar.",
        "book.hint": "Bitte prüfen Sie den Link, den Sie erhalten haben, oder bitten Sie die Praxis um einen neuen.",
        "clinic.title": "Praxis nicht gefunden",
        "clinic.heading": "Wir konnten diese Praxis nicht finden",
        "clinic.message": "Der Link ist vielleicht veraltet oder falsch geschrieben. Bitte prüfen Sie die Adresse "
        "oder wenden Sie sich an die Praxis.",
        "manage.invalid.title": "Wir konnten diesen Link nicht öffnen",
        "manage.invalid": "Dieser Link ist kein gültiger Link zur Verwaltung einer Buchung.",
        "manage.expired.title": "Dieser Link ist abgelaufen",
        "manage.expired": "Links zur Verwaltung einer Buchung gelten nur bis zum Ende des Termins.",
        "manage.moved.title": "Dieser Termin wurde verschoben",
        "manage.moved": "Dieser Termin wurde auf eine andere Zeit verschoben.",
        "manage.moved_to": "Dieser Termin wurde auf {when} verschoben.",
        "manage.moved_cancelled": "Dieser neue Termin wurde später abgesagt.",
        "manage.hint": "Bitte verwenden Sie den Link aus Ihrer neuesten E-Mail der Praxis, oder wenden Sie sich an "
        "die Praxis.",
    },
}

_WEEKDAYS_DE: Final = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
_MONTHS_DE: Final = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)  # fmt: skip


def language(accept_language: str | None) -> str:
    """The first language of ``Accept-Language`` (by its weights) the pages are written in, else English.

    ``"fr-CH, de;q=0.8, en;q=0.5"`` is German; a malformed weight counts as 0 (never an error).
    """
    wanted: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                weight = float(value)
            except ValueError:
                weight = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGUAGES and weight > 0:
            wanted.append((-weight, position, primary))
    return min(wanted)[2] if wanted else LANGUAGES[0]


def text(lang: str, key: str, **values: str) -> str:
    """One of the pages' sentences in ``lang``, with its ``{placeholders}`` filled in."""
    return TEXT.get(lang, TEXT[LANGUAGES[0]])[key].format(**values)


def when(start: datetime, zone_name: str, lang: str) -> str:
    """A start as a patient reads it: "Tuesday 8 December 2026, 15:00 (Europe/Berlin)", or in German
    "Dienstag, 8. Dezember 2026, 15:00 (Europe/Berlin)" (month and day names not from the C locale)."""
    if lang == "de":
        weekday, month = _WEEKDAYS_DE[start.weekday()], _MONTHS_DE[start.month - 1]
        return f"{weekday}, {start.day}. {month} {start.year}, {start:%H:%M} ({zone_name})"
    return f"{start:%A} {start.day} {start:%B %Y, %H:%M} ({zone_name})"
