"""One-off extractions: every document comes with its own small schema.

The other tasks reuse one target over many documents, so a system that caches the schema
(its grammar, the system prompt's KV cache) pays for it once. Here no two cases share a
schema, the way an application asks one question of one text: each case pays for
compiling its grammar and evaluating its schema-bearing prompt in full.

Each case is a short text written for this project (fictional people, companies and
places) and a Pydantic model of 2-7 fields, the way users write them: ``Literal`` and
``Enum`` choices, dates, bounds, patterns, nested lists, a few ``Field`` descriptions.
Every gold value is stated in the text; strings are copied as written.

    from tests.corpus.oneoff import CASES, field_scores

    for case in CASES:
        predicted = my_library.extract(case.text, case.target)  # None when it failed
        counts = field_scores(case, predicted)  # .tp, .fp, .fn, .f1
"""

from __future__ import annotations

import datetime
import enum
import functools
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints
from pydantic_core import to_jsonable_python

from extract.evaluation import Counts, Scorer, scorer_for

__all__ = ["CASES", "OneOff", "field_scores"]


@dataclass(frozen=True)
class OneOff:
    """One document, the model to extract from it, and the gold value (JSON-shaped)."""

    id: str
    target: type[BaseModel]
    text: str
    gold: dict[str, Any]


Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}-\d{4}$")]


class ProductListing(BaseModel):
    name: str = Field(description="Product name without the brand")
    brand: str
    price: float = Field(ge=0, description="Price in dollars, without the symbol")
    skus: set[Sku]
    in_stock: bool


class Person(BaseModel):
    name: str
    role: str = Field(description="Job title or role in the meeting")


class Meeting(BaseModel):
    title: str
    date: datetime.date
    attendees: list[Person]
    room: str | None = None


class FlightBooking(BaseModel):
    passenger: str
    flight_number: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}\d{2,4}$")]
    departure: datetime.date
    origin: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        description="IATA airport code"
    )
    destination: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        description="IATA airport code"
    )
    cabin: Literal["economy", "premium economy", "business", "first"]


class Ingredient(BaseModel):
    name: str
    quantity: float = Field(gt=0)
    unit: Literal["g", "ml", "tsp", "tbsp", "cup", "pinch"] | None = Field(
        default=None, description="None for whole items, such as 2 eggs"
    )


class Recipe(BaseModel):
    title: str
    servings: int = Field(ge=1, le=24)
    ingredients: list[Ingredient]


class JobAd(BaseModel):
    title: str
    company: str
    location: str
    remote: bool = Field(description="Whether the job can be done fully remotely")
    salary_min: int | None = Field(default=None, ge=0, description="Yearly, in euros")
    salary_max: int | None = Field(default=None, ge=0, description="Yearly, in euros")


class Severity(str, enum.Enum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class BugReport(BaseModel):
    title: str = Field(description="One-line summary of the problem")
    component: str
    severity: Severity
    reproducible: bool
    version: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+$")]


class PropertyListing(BaseModel):
    kind: Literal["apartment", "house", "townhouse", "studio"]
    street: str
    city: str
    bedrooms: int = Field(ge=0, le=20)
    area_m2: float = Field(gt=0, description="Living area in square metres")
    asking_price: int = Field(ge=0, description="In euros")
    balcony: bool


class MatchResult(BaseModel):
    competition: str
    home_team: str
    away_team: str
    home_score: int = Field(ge=0)
    away_score: int = Field(ge=0)
    played_on: datetime.date


class Prescription(BaseModel):
    patient: str
    drug: str = Field(description="Medication name, without the strength")
    dose: float = Field(gt=0)
    unit: Literal["mg", "mcg", "ml", "g"]
    times_per_day: int = Field(ge=1, le=6)
    with_food: bool


class Shipment(BaseModel):
    tracking_number: Annotated[str, StringConstraints(pattern=r"^1Z[0-9A-Z]{16}$")]
    carrier: Literal["UPS", "DHL", "FedEx", "DPD", "USPS"]
    weight_kg: float = Field(gt=0)
    destination_city: str
    status: Literal["label created", "in transit", "out for delivery", "delivered"]


class Event(BaseModel):
    name: str
    date: datetime.date
    city: str
    venue: str
    ticket_price: float | None = Field(default=None, ge=0, description="In pounds; None if free")


class Book(BaseModel):
    title: str
    authors: list[str] = Field(description="Full names, in the order given")
    year: int = Field(ge=1400, le=2100, description="Year of first publication")
    isbn: Annotated[str, StringConstraints(pattern=r"^97[89]\d{10}$")]


class HotelReview(BaseModel):
    hotel: str
    rating: int = Field(ge=1, le=5, description="Stars given by the reviewer")
    liked: list[str] = Field(description="Things the reviewer praised, a few words each")
    would_return: bool


class UsedCar(BaseModel):
    make: str
    model: str
    year: int = Field(ge=1950, le=2030)
    mileage_km: int = Field(ge=0)
    fuel: Literal["petrol", "diesel", "hybrid", "electric"]
    price: int = Field(ge=0, description="Asking price in euros")


class Subscription(BaseModel):
    plan: Literal["basic", "standard", "premium"]
    monthly_price: float = Field(ge=0)
    seats: int = Field(ge=1)
    renews_on: datetime.date
    auto_renew: bool


CASES: tuple[OneOff, ...] = (
    OneOff(
        "product-tent",
        ProductListing,
        "Listing update from the Harbor Goods catalogue team. The Northpeak Alpine Trail 2 "
        "is back on the site at $249.99 after the spring restock. It is a two-person, "
        "three-season tent with a 1.9 kg packed weight and two vestibules. We list it in "
        "two colours: forest green (SKU NPK-2041) and sand (SKU NPK-2042). The footprint "
        "bundle keeps its own code, NPK-2099, and ships in the same box. All three are in "
        "stock at the Leeds warehouse as of this morning, so please remove the "
        "'back-order' banner from the product page.",
        {
            "name": "Alpine Trail 2",
            "brand": "Northpeak",
            "price": 249.99,
            "skus": ["NPK-2041", "NPK-2042", "NPK-2099"],
            "in_stock": True,
        },
    ),
    OneOff(
        "meeting-budget",
        Meeting,
        "Minutes: Q3 budget review, held on 12 September 2024 in room Juniper 4B. Present "
        "were Ingrid Halvorsen (finance director), who chaired; Marco Bellini (head of "
        "operations); and Aisha Okafor (product manager). Ingrid opened with the forecast: "
        "spending is 4% under plan, mostly from delayed hiring. Marco asked to move part "
        "of the surplus to warehouse automation. Aisha presented the roadmap and asked "
        "for two contractors until December. Decisions: the automation pilot goes ahead; "
        "contractor budget to be confirmed next week.",
        {
            "title": "Q3 budget review",
            "date": "2024-09-12",
            "attendees": [
                {"name": "Ingrid Halvorsen", "role": "finance director"},
                {"name": "Marco Bellini", "role": "head of operations"},
                {"name": "Aisha Okafor", "role": "product manager"},
            ],
            "room": "Juniper 4B",
        },
    ),
    OneOff(
        "flight-lisbon",
        FlightBooking,
        "Booking confirmed - reference QX7PLM. Dear Tomas Lindqvist, thank you for "
        "booking with Brightwing Air. Your flight BW417 departs from Stockholm Arlanda "
        "(ARN) on 3 March 2025 at 07:40 and arrives in Lisbon (LIS) at 11:25 local time. "
        "You are travelling in premium economy, seat 14C, with one checked bag of up to "
        "23 kg included. Online check-in opens 30 hours before departure. Please have "
        "your passport ready at the gate.",
        {
            "passenger": "Tomas Lindqvist",
            "flight_number": "BW417",
            "departure": "2025-03-03",
            "origin": "ARN",
            "destination": "LIS",
            "cabin": "premium economy",
        },
    ),
    OneOff(
        "recipe-pancakes",
        Recipe,
        "Weekend oat pancakes (makes 4 servings). Whisk 150 g oat flour with 1 tsp baking "
        "powder and 1 pinch of salt. In a jug beat 2 eggs into 250 ml milk, then stir in "
        "1 tbsp maple syrup. Pour the wet mix into the dry and "
        "rest the batter for ten minutes while the pan heats. Fry ladlefuls in a little "
        "butter, about two minutes a side, until golden. Serve with berries and more "
        "syrup.",
        {
            "title": "Weekend oat pancakes",
            "servings": 4,
            "ingredients": [
                {"name": "oat flour", "quantity": 150, "unit": "g"},
                {"name": "baking powder", "quantity": 1, "unit": "tsp"},
                {"name": "salt", "quantity": 1, "unit": "pinch"},
                {"name": "eggs", "quantity": 2, "unit": None},
                {"name": "milk", "quantity": 250, "unit": "ml"},
                {"name": "maple syrup", "quantity": 1, "unit": "tbsp"},
            ],
        },
    ),
    OneOff(
        "job-data-engineer",
        JobAd,
        "We are hiring: Senior Data Engineer at Fjordline Analytics, Bergen. You will "
        "own our ingestion pipelines, move our nightly batch jobs to streaming and mentor "
        "two junior engineers. We work from the Bergen office three days a week, so the "
        "role is not fully remote. Salary range: 68000 to 82000 EUR per year, plus a "
        "yearly training budget and six weeks of paid leave. Apply with a CV and a short "
        "note on a pipeline you are proud of.",
        {
            "title": "Senior Data Engineer",
            "company": "Fjordline Analytics",
            "location": "Bergen",
            "remote": False,
            "salary_min": 68000,
            "salary_max": 82000,
        },
    ),
    OneOff(
        "bug-export",
        BugReport,
        "Issue #5521. CSV export drops rows with accented names. Component: report "
        "exporter. Version 3.14.2 on Windows and macOS. Steps: create a customer named "
        "'Zoë Müller', run Reports > Export > CSV, open the file: her row is missing. "
        "I tried it five times and it happens every time, so it is reproducible. "
        "Severity: high, since finance imports these files into the ledger and totals no "
        "longer match. Workaround: export as XLSX, which keeps every row.",
        {
            "title": "CSV export drops rows with accented names",
            "component": "report exporter",
            "severity": "high",
            "reproducible": True,
            "version": "3.14.2",
        },
    ),
    OneOff(
        "property-utrecht",
        PropertyListing,
        "For sale: bright apartment at Oudegracht 212, Utrecht. Third floor of a canal "
        "house, renovated in 2021. It has 2 bedrooms, an open kitchen and a living area "
        "of 78.5 square metres. Asking price 465000 euros, costs buyer. There is no "
        "balcony, but residents share a roof terrace with a view of the Dom tower. Energy "
        "label B, service charges of 140 euros a month. Viewings on Saturdays by "
        "appointment.",
        {
            "kind": "apartment",
            "street": "Oudegracht 212",
            "city": "Utrecht",
            "bedrooms": 2,
            "area_m2": 78.5,
            "asking_price": 465000,
            "balcony": False,
        },
    ),
    OneOff(
        "match-cup",
        MatchResult,
        "Riverside Rovers 2, Kingsford Athletic 3. Kingsford came from behind to win the "
        "County Cup quarter-final at Mill Lane on Saturday 19 October 2024. The home side "
        "led 2-0 at half-time through a penalty and a header from a corner, but Kingsford "
        "scored three times in the last twenty minutes, the winner in stoppage time. "
        "Rovers' manager said his team 'stopped playing'. Kingsford meet the holders in "
        "the semi-final next month.",
        {
            "competition": "County Cup",
            "home_team": "Riverside Rovers",
            "away_team": "Kingsford Athletic",
            "home_score": 2,
            "away_score": 3,
            "played_on": "2024-10-19",
        },
    ),
    OneOff(
        "medication-amoxicillin",
        Prescription,
        "Patient: Helena Varga, 54. Diagnosis: acute sinusitis. Prescribed amoxicillin "
        "500 mg capsules: take one capsule (500 mg) three times a day for seven days, "
        "with food to limit stomach upset. Finish the course even if symptoms improve. "
        "No known drug allergies. Review in ten days if no improvement, sooner if fever "
        "returns. Dr. P. Osei, Elm Street practice.",
        {
            "patient": "Helena Varga",
            "drug": "amoxicillin",
            "dose": 500,
            "unit": "mg",
            "times_per_day": 3,
            "with_food": True,
        },
    ),
    OneOff(
        "shipment-parcel",
        Shipment,
        "Your parcel is on its way. Carrier: UPS. Tracking number 1Z84X2E70398271645. "
        "Package weight 3.2 kg, one box. Current status: in transit - it left the "
        "Cologne hub this morning and is expected in Rotterdam tomorrow between 10:00 "
        "and 14:00. If nobody is home, the driver will leave it with a neighbour or at "
        "the nearest access point. You can change the delivery day on the carrier's "
        "site until 22:00 tonight.",
        {
            "tracking_number": "1Z84X2E70398271645",
            "carrier": "UPS",
            "weight_kg": 3.2,
            "destination_city": "Rotterdam",
            "status": "in transit",
        },
    ),
    OneOff(
        "event-jazz",
        Event,
        "Harbourlight Jazz Night returns on 7 June 2025! After a sold-out first year we "
        "move to the bigger Corn Exchange in Bristol, with doors at 19:00 and three sets "
        "from the Mara Ellis Quartet and guests. Standing tickets cost 18.50 pounds, "
        "seated balcony tickets are sold out. Under-12s get in free with an adult. Bar "
        "and street food on site; the venue is step-free.",
        {
            "name": "Harbourlight Jazz Night",
            "date": "2025-06-07",
            "city": "Bristol",
            "venue": "Corn Exchange",
            "ticket_price": 18.5,
        },
    ),
    OneOff(
        "book-tides",
        Book,
        "New in the library catalogue: The Cartographer of Tides, by Elena Marsh and "
        "David Okonkwo. First published in 2019 by Lantern House, this edition has a new "
        "afterword. ISBN 9781529034561. The novel follows a mapmaker in 1830s Cornwall "
        "who charts a coastline that keeps changing, and the smuggler who pays her to "
        "leave one cove off the map. Shelved under historical fiction; two copies, one "
        "large print.",
        {
            "title": "The Cartographer of Tides",
            "authors": ["Elena Marsh", "David Okonkwo"],
            "year": 2019,
            "isbn": "9781529034561",
        },
    ),
    OneOff(
        "review-hotel",
        HotelReview,
        "Stayed three nights at the Hotel Solvik in Tromsø in February. 4 stars from me. "
        "Loved the breakfast buffet, the friendly staff and the northern lights tour "
        "they booked for us, worth every krone. The room was small and "
        "the wifi dropped in the evenings, hence not five. I would definitely come back "
        "next winter.",
        {
            "hotel": "Hotel Solvik",
            "rating": 4,
            "liked": ["breakfast buffet", "friendly staff", "northern lights tour"],
            "would_return": True,
        },
    ),
    OneOff(
        "car-octavia",
        UsedCar,
        "Selling my Skoda Octavia estate, 2018, because we moved to the city and no "
        "longer need it. Diesel, manual gearbox, 142000 km on the clock with a full "
        "service history at the dealer. New tyres last autumn, small scratch on the rear "
        "bumper (see photos). Inspection valid until next June. Asking 11900 euros, "
        "viewing in Ghent on weekday evenings.",
        {
            "make": "Skoda",
            "model": "Octavia",
            "year": 2018,
            "mileage_km": 142000,
            "fuel": "diesel",
            "price": 11900,
        },
    ),
    OneOff(
        "subscription-renewal",
        Subscription,
        "Hi Ravi, this is a reminder from Tallyboard. Your team's standard plan (12 seats) "
        "renews on 1 April 2025 at 96.00 USD per month. Auto-renew is on, so the card "
        "ending 4417 will be charged automatically; you can switch it off in Billing "
        "settings. Need more seats? Each extra seat is 8 USD a month, added at the next "
        "renewal. Thanks for using Tallyboard!",
        {
            "plan": "standard",
            "monthly_price": 96.0,
            "seats": 12,
            "renews_on": "2025-04-01",
            "auto_renew": True,
        },
    ),
)


@functools.cache
def _scorer(target: type[BaseModel]) -> Scorer:
    return scorer_for(target)


def field_scores(case: OneOff, predicted: Any) -> Counts:
    """The project's scorer on one case: leaf fields of ``predicted`` against the gold,
    list items paired one-to-one. ``predicted=None`` (extraction failed) misses every
    gold value."""
    # Validated first, so gold and prediction are JSON-shaped alike (floats, set order).
    gold = to_jsonable_python(case.target.model_validate(case.gold))
    scored = _scorer(case.target).score(to_jsonable_python(predicted), gold)
    return scored.total()
