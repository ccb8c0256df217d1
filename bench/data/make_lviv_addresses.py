"""Writes lviv_addresses_generated.csv: addresses in the forms people write them, built
from lviv_streets.csv with a fixed seed (abbreviations, Russian forms, case endings, old
names, one-letter typos, signatures), each with the district its house belongs to by the
register's own rows. lviv_addresses_handwritten.csv holds the hand-written hard cases.

Run: .venv/bin/python bench/data/make_lviv_addresses.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 17

KIND_UK = {
    "вулиця": ["вул.", "вулиця", "вул", "Вул."],
    "проспект": ["просп.", "проспект", "пр-т", "пр."],
    "площа": ["пл.", "площа"],
    "провулок": ["пров.", "провулок"],
}
KIND_RU = {
    "вулиця": ["ул.", "улица"],
    "проспект": ["пр.", "проспект"],
    "площа": ["пл.", "площадь"],
    "провулок": ["пер."],
}
OLD_NAMES = {"Леніна", "Пушкіна", "Пушкина", "Миру", "Фрунзе"}


def locative(name: str) -> str:
    """ "на вулиці Стрийській": the adjective-like names in the locative."""
    for end, new in (("ська", "ській"), ("цька", "цькій"), ("на", "ній"), ("ва", "вій")):
        if name.endswith(end) and " " not in name:
            return name[: -len(end)] + new
    return name


def typo(name: str, rnd: random.Random) -> str:
    i = rnd.randrange(2, len(name) - 1)
    op = rnd.choice(["sub", "del", "swap"])
    if op == "del":
        return name[:i] + name[i + 1 :]
    if op == "swap":
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name[:i] + rnd.choice("аоеиіу") + name[i + 1 :]


def house_in(row: dict, rnd: random.Random) -> int:
    lo = int(row["from_house"] or 1)
    hi = int(row["to_house"] or lo + 120)
    h = rnd.randint(lo, hi)
    if row["parity"] == "odd" and h % 2 == 0:
        h += 1
    if row["parity"] == "even" and h % 2 == 1:
        h += 1
    return h


def main() -> None:
    rnd = random.Random(SEED)
    with open(HERE / "lviv_streets.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out: list[tuple[str, str, str]] = []
    for row in rows:
        name, kind = row["street"], row["kind"]
        aliases = [a for a in row["aliases"].split(";") if a]
        ru = [a for a in aliases if a not in OLD_NAMES and any(c in a for c in "ыэъё")]
        ru = ru or [a for a in aliases if a not in OLD_NAMES][:1]
        old = [a for a in aliases if a in OLD_NAMES]
        flat = rnd.randint(1, 120)
        forms = [
            ("uk-abbrev", f"{rnd.choice(KIND_UK[kind])} {name}, {house_in(row, rnd)}"),
            (
                "uk-full",
                f"м. Львів, {KIND_UK[kind][1]} {name}, буд. {house_in(row, rnd)}, кв. {flat}",
            ),
            (
                "signature",
                f"З повагою,\nОксана Петренко\n{KIND_UK[kind][0]} {name} "
                f"{house_in(row, rnd)}/{rnd.randint(1, 9)}, кв. {flat}\n"
                f"тел. 067 000 00 00",
            ),
        ]
        if kind == "вулиця":
            forms.append(
                ("uk-locative", f"Проживаю на вулиці {locative(name)}, {house_in(row, rnd)}.")
            )
            forms.append(("kind-after", f"{name} вул., буд. {house_in(row, rnd)}"))
        if ru:
            forms.append(
                (
                    "ru",
                    f"г. Львов, {rnd.choice(KIND_RU[kind])} {rnd.choice(ru)}, "
                    f"д. {house_in(row, rnd)}, кв. {flat}",
                )
            )
        if old:
            forms.append(("old-name", f"{KIND_UK[kind][0]} {old[0]}, {house_in(row, rnd)}"))
        if len(name) >= 7 and " " not in name:
            forms.append(("typo", f"{KIND_UK[kind][0]} {typo(name, rnd)} {house_in(row, rnd)}"))
        for form, text in forms:
            out.append((form, text, row["district"]))
    with open(HERE / "lviv_addresses_generated.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["form", "text", "district"])
        w.writerows(out)
    print(f"{len(out)} addresses written")


if __name__ == "__main__":
    main()
