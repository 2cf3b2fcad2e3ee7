"""Generated contact documents with gold records, for training and testing a student.

Email bodies and signatures in a dozen layouts, with names, companies, cities, roles
and phone numbers drawn from lists (seeded: the same ``n`` and ``seed`` give the same
documents). Optional fields are left out at random, and sentences that mention other
places or people's first names surround the signature, so a field is not just "the
line after the name". Values are written exactly as the gold says: every one is a
span of its text.
"""

from __future__ import annotations

import random
from typing import Any

FIRST = ["Marta", "Jonas", "Aiko", "Lucas", "Priya", "Tomasz", "Elena", "Kwame", "Sofia",
         "Mateo", "Hannah", "Yusuf", "Ingrid", "Rafael", "Mei", "Oliver", "Amara", "Luca",
         "Nadia", "Henrik", "Chloe", "Diego", "Fatima", "Sven", "Grace", "Arjun", "Lena",
         "Pablo", "Zoe", "Ivan"]  # fmt: skip
LAST = ["Kowalczyk", "Berg", "Tanaka", "Moreau", "Raman", "Nowak", "Rossi", "Mensah",
        "Lindqvist", "Garcia", "Fischer", "Demir", "Olsen", "Costa", "Chen", "Walsh",
        "Okafor", "Bianchi", "Haddad", "Nilsson", "Dubois", "Herrera", "Aziz", "Larsen",
        "Murphy", "Patel", "Vogel", "Ortega", "Novak", "Petrov"]  # fmt: skip
COMPANIES = ["Halden Outdoor Supply", "Brightwater Analytics", "Norrland Timber AB",
             "Calder Coffee Roasters", "Vireo Health", "Atlas Freight", "Lumen Optics",
             "Kestrel Robotics", "Bluefin Marine", "Orchid Textiles", "Granite Peak Bank",
             "Solace Pharma", "Meridian Hotels", "Tidewater Logistics", "Copperleaf Foods",
             "Quill & Ink Publishing", "Aurora Energy", "Fjord Software"]  # fmt: skip
CITIES = ["Krakow", "Oslo", "Osaka", "Lyon", "Pune", "Gdansk", "Turin", "Accra", "Malmo",
          "Valencia", "Hamburg", "Izmir", "Bergen", "Porto", "Shenzhen", "Dublin", "Lagos",
          "Milan", "Beirut", "Uppsala"]  # fmt: skip
ROLES = ["Senior Buyer", "Head of Data", "Procurement Manager", "Office Manager",
         "Chief Financial Officer", "Product Designer", "Logistics Coordinator",
         "Sales Director", "Research Scientist", "Account Executive", "Operations Lead",
         "HR Partner"]  # fmt: skip
OPENINGS = [
    "Thanks again for the quick turnaround on the samples.",
    "Following up on our call last Tuesday about the new contract.",
    "Please find the revised quote attached.",
    "I am writing to confirm the delivery schedule for next month.",
    "It was great to meet you at the fair in Frankfurt.",
    "Could you send the updated price list when you have a moment?",
    "We have reviewed the proposal and would like to move ahead.",
    "Sorry for the late reply, it has been a busy week.",
]
CLOSINGS = ["Best regards,", "Kind regards,", "Thanks,", "Cheers,", "All the best,", "Regards,"]


def _phone(rng: random.Random) -> str:
    groups = [str(rng.randint(10, 99)), str(rng.randint(100, 999)), str(rng.randint(1000, 9999))]
    style = rng.randrange(3)
    if style == 0:
        return f"+{rng.randint(30, 49)} {' '.join(groups)}"
    if style == 1:
        return f"({groups[0]}) {groups[1]}-{groups[2]}"
    return f"+{rng.randint(30, 49)}-{'-'.join(groups)}"


def contact(rng: random.Random) -> tuple[str, dict[str, Any]]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    name = f"{first} {last}"
    company = rng.choice(COMPANIES)
    domain = "".join(ch for ch in company.split()[0].lower() if ch.isalpha()) + ".example.com"
    gold: dict[str, Any] = {
        "name": name,
        "email": f"{first.lower()}.{last.lower()}@{domain}" if rng.random() < 0.85 else None,
        "phone": _phone(rng) if rng.random() < 0.7 else None,
        "company": company if rng.random() < 0.9 else None,
        "city": rng.choice(CITIES) if rng.random() < 0.75 else None,
        "role": rng.choice(ROLES) if rng.random() < 0.7 else None,
    }
    other = rng.choice([c for c in CITIES if c != gold["city"]])
    body = " ".join(rng.sample(OPENINGS, 2))
    if rng.random() < 0.5:
        body += f" Our team in {other} will handle the paperwork."
    lines = [f"Hi {rng.choice(FIRST)},", "", body, "", rng.choice(CLOSINGS), name]
    layout = rng.randrange(4)
    role, company_, city = gold["role"], gold["company"], gold["city"]
    if layout == 0:
        lines += [x for x in (role, company_, city) if x]
    elif layout == 1:
        lines += [", ".join(x for x in (role, company_) if x)] if role or company_ else []
        lines += [city] if city else []
    elif layout == 2:
        joined = " | ".join(x for x in (role, company_) if x)
        lines += [joined] if joined else []
        lines += [f"Based in {city}"] if city else []
    else:
        at = f"{role} at {company_}" if role and company_ else role or company_
        lines += [at] if at else []
        lines += [f"{city} office"] if city else []
    contact_line = [x for x in (gold["email"], gold["phone"]) if x]
    if contact_line:
        sep = rng.choice([" | ", "\n", " / "])
        lines.append(sep.join(contact_line) if sep != "\n" else contact_line[0])
        if sep == "\n" and len(contact_line) > 1:
            lines.append(f"Tel: {contact_line[1]}")
    return "\n".join(lines), gold


def contacts(n: int, seed: int = 0, prefix: str = "gen") -> list[dict[str, Any]]:
    """``n`` documents ``{"id", "text", "gold"}`` (the corpus format)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text, gold = contact(rng)
        out.append({"id": f"{prefix}-{i + 1:04d}", "text": text, "gold": gold})
    return out
