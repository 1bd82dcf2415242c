"""Which language the server-written pages pick from ``Accept-Language``."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.pagetext import TEXT, language, when


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("en-US,en;q=0.9,de;q=0.8", "en"),
        ("fr-CH, fr;q=0.9, de;q=0.8, en;q=0.5", "de"),  # the first language we write, by weight
        ("en;q=0.4, de;q=0.7", "de"),  # weights, not order
        ("de;q=0, en;q=0.1", "en"),  # q=0 means "not this one"
        ("DE-at", "de"),
        ("fr, it", "en"),  # none we write: the fallback
        ("de;q=banana, en", "en"),  # a malformed weight counts as 0, never an error
        (",,;;==", "en"),
    ],
)
def test_the_reader_s_language_or_english(header: str | None, expected: str) -> None:
    assert language(header) == expected


def test_every_language_has_every_sentence() -> None:
    assert {lang: set(words) for lang, words in TEXT.items()} == {lang: set(TEXT["en"]) for lang in TEXT}


def test_a_start_in_english_and_german() -> None:
    start = datetime(2026, 12, 8, 15, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert when(start, "Europe/Berlin", "en") == "Tuesday 8 December 2026, 15:00 (Europe/Berlin)"
    assert when(start, "Europe/Berlin", "de") == "Dienstag, 8. Dezember 2026, 15:00 (Europe/Berlin)"
