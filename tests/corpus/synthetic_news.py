"""Generated short news items with their named entities as gold (the news task's target).

Each item is two to four sentences drawn from templates about councils, companies,
sport, science and courts, with people, organisations and places drawn from lists
(seeded: the same ``n`` and ``seed`` give the same items) and sentences without names
between them. Gold lists each entity once, as written, in order of first mention, the
way ``tests/corpus/news.jsonl`` does (an organisation's "the" is not part of its name);
every value is a span of its text.
"""

from __future__ import annotations

import random
from typing import Any

FIRST = ["Denise", "Marco", "Aisha", "Tomas", "Ingrid", "Kofi", "Lucia", "Ravi", "Helen",
         "Jun", "Fatima", "Pieter", "Nadia", "Samuel", "Yara", "Oskar", "Mariam", "Diego",
         "Elif", "Connor", "Mei", "Adebayo", "Sanna", "Viktor", "Rosa", "Hamid", "Clara",
         "Jonas", "Priya", "Luis"]  # fmt: skip
LAST = ["Okafor", "Bellini", "Rahman", "Novak", "Lund", "Mensah", "Ferreira", "Iyer",
        "Carter", "Watanabe", "Haddad", "de Vries", "Petrova", "Osei", "Nasser", "Berg",
        "Khalil", "Romero", "Yilmaz", "Byrne", "Lin", "Adeyemi", "Virtanen", "Sokolov",
        "Duarte", "Karimi", "Schulz", "Eriksen", "Nair", "Ortega"]  # fmt: skip
ORGS = ["Kestrel Bay Harbour Council", "Bluefin Ferries", "Northgate University",
        "Halden Steelworks", "the Guild of Artisan Bakers", "Meridian Rail",
        "Westbrook Rovers", "the Coastal Rescue Trust", "Aurora Energy", "Lumen Labs",
        "the National Weather Office", "Granite Peak Bank", "Riverside Hospital",
        "the Teachers' Union", "Copperleaf Foods", "Solace Pharma", "Fjord Software",
        "the Hill Farmers' Cooperative", "Orchid Textiles", "Tidewater Logistics",
        "Valley Water Board", "the Museum of Maritime History", "Calder City FC",
        "Atlas Freight"]  # fmt: skip
PLACES = ["Port Elswick", "Marrowby", "Valdecoria", "Castelmar", "Oslo", "Lyon",
          "Accra", "Dunmore", "Bergen", "Kingsbridge", "Porto", "Tarrow Falls",
          "Gdansk", "Ashworth", "Lake Venn", "Pune", "Hollin Moor", "Turin",
          "Eastholme", "Brackley Sound", "Osaka", "Redcliff", "Valencia",
          "Saltmarsh"]  # fmt: skip
ROLES = ["Councillor", "spokesperson", "chief executive", "head coach", "researcher",
         "judge", "mayor", "director", "union leader", "engineer"]  # fmt: skip

# Templates: {p} a person, {o} an organisation, {l} a place, {r} a role.
WITH_NAMES = [
    "{o} voted on Tuesday to open a new route between {l} and {l2}.",
    "{r_cap} {p} said the plan would cut travel times by almost an hour.",
    "{p}, a {r} at {o}, told reporters the work would begin in spring.",
    "The decision was welcomed by {o}, which had campaigned for years.",
    "{o} will move its head office to {l} next year, {p} confirmed.",
    "Residents of {l} gathered outside the town hall on Saturday.",
    "{p} scored twice as {o} beat their rivals in {l}.",
    "Speaking in {l}, {p} said the results were better than expected.",
    "A study led by {p} of {o} found that the river had recovered.",
    "The court in {l} heard that {o} had ignored repeated warnings.",
    "{o} said it would hire two hundred people at its plant in {l}.",
    "Flooding closed the road between {l} and {l2} for most of the day.",
    "{p} will take over as {r} of {o} in March.",
    "Officials from {o} met {p} in {l} to discuss the budget.",
    "The festival in {l} drew more visitors than ever, organisers said.",
    "{p} and {p2} shared the prize, awarded by {o}.",
]
NO_NAMES = [
    "The vote passed by a narrow margin.",
    "Further details are expected next week.",
    "Critics say the cost has been underestimated.",
    "The work is expected to take eighteen months.",
    "Tickets sold out within an hour.",
    "No one was hurt.",
    "The figures will be reviewed in the autumn.",
    "It is the first such agreement in a decade.",
]


def news_items(n: int, seed: int = 0, prefix: str = "gen-news") -> list[dict[str, Any]]:
    """``n`` items as ``{"id", "text", "gold", "spans"}``: gold ``[{"text", "kind"}]``."""
    rng = random.Random(seed)
    return [_item(rng, f"{prefix}-{i:04d}") for i in range(n)]


def _item(rng: random.Random, ident: str) -> dict[str, Any]:
    sentences = rng.sample(WITH_NAMES, rng.randint(2, 3))
    if rng.random() < 0.6:
        sentences.insert(rng.randint(1, len(sentences)), rng.choice(NO_NAMES))
    people = rng.sample([f"{f} {s}" for f in FIRST for s in LAST], 2)
    orgs, places = rng.sample(ORGS, 1), rng.sample(PLACES, 2)
    role = rng.choice(ROLES)
    text = ""
    gold: list[dict[str, str]] = []
    spans: dict[str, list[int]] = {}
    seen: set[str] = set()
    for number, template in enumerate(sentences):
        fill = {
            "{p}": (people[0], "person"), "{p2}": (people[1], "person"),
            "{o}": (orgs[0], "organisation"),
            "{l}": (places[0], "place"), "{l2}": (places[1], "place"),
            "{r}": (role, None), "{r_cap}": (role[0].upper() + role[1:], None),
        }  # fmt: skip
        text += " " if number else ""
        rest = template
        while "{" in rest:
            head, _, tail = rest.partition("{")
            slot, _, rest = tail.partition("}")
            text += head
            value, kind = fill["{" + slot + "}"]
            if value.startswith("the "):  # the article is not part of the name
                value = value[4:]
                text += "The " if text.endswith(". ") or not text else "the "
            elif text.endswith(". ") or not text:
                value = value[0].upper() + value[1:]  # a role at a sentence start
            start = len(text)
            text += value
            if kind is not None and value.lower() not in seen:
                seen.add(value.lower())
                spans[f"/{len(gold)}/text"] = [start, start + len(value)]
                gold.append({"text": value, "kind": kind})
        text += rest
    return {"id": ident, "text": text, "gold": gold, "spans": spans}
