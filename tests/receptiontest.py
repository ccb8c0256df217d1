"""Helpers for the internet reception's tests: the form's fields and one submission
through a TestClient, the way a browser sends it (the form page first, then the POST)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from gateway.clock import ManualClock

TEXT = (
    "На вулиці Волі біля будинку 3 третій тиждень не працює вуличне освітлення, прошу полагодити."
)


def token_of(html: str) -> str:
    m = re.search(r'name="form_token" value="([^"]+)"', html)
    assert m, "no form token on the page"
    return m.group(1)


def fields(**over: str) -> dict[str, str]:
    base = {
        "kind": "appeal",
        "name": "Коваленко Марія Іванівна",
        "address": "м. Луцьк, вул. Волі, 3, кв. 5",
        "email": "maria@example.org",
        "phone": "+380 67 123 45 67",
        "text": TEXT,
        "consent": "yes",
        "lang": "uk",
    }
    base.update(over)
    return base


def submit(
    client: Any, clock: ManualClock | None, files: Any = None, lang: str = "uk", **over: str
) -> Any:
    """Open the form, wait past the minimum fill time (the clock moved on, or the
    settings' min_fill_seconds 0 when there is no clock to move) and send it."""
    page = client.get(f"/reception?lang={lang}")
    assert page.status_code == 200
    if clock is not None:
        clock.advance(timedelta(seconds=10))
    data = {**fields(lang=lang, **over), "form_token": token_of(page.text)}
    return client.post(
        f"/reception?lang={lang}", data=data, files=files or {}, follow_redirects=False
    )
