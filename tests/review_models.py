"""The records the review browser test (and the review how-to's screenshot) corrects."""

from __future__ import annotations

import datetime as dt
from typing import Literal, Optional

from pydantic import BaseModel


class Customer(BaseModel):
    name: str
    city: Optional[str] = None


class Line(BaseModel):
    product: str
    qty: int


class Order(BaseModel):
    customer: Customer
    date: dt.date
    status: Literal["open", "paid", "shipped"]
    lines: list[Line]
    note: Optional[str] = None


CITIES = ["Paris", "Lyon", "Oslo", "Turin", "Porto"]
PRODUCTS = ["lamp", "chair", "desk", "cup", "rug"]


def predictions(n: int = 20) -> list[dict[str, object]]:
    """``n`` documents with predictions as ``extract run --model A --model B`` would
    write them (values, spans, ensemble confidence); a few are wrong on purpose."""
    rows: list[dict[str, object]] = []
    for i in range(n):
        name, city, product = f"Client {i + 1}", CITIES[i % 5], PRODUCTS[i % 5]
        text = f"{name} from {city} ordered {i % 4 + 1} x {product} on 2026-03-{i + 1:02d}; paid."
        value = {
            "customer": {"name": name, "city": None if i == 0 else city},
            "date": f"2026-03-{i + 1:02d}",
            "status": "paid",
            "lines": [{"product": product, "qty": i % 4 + 1}],
            "note": None,
        }
        start = text.index(city)
        spans = {
            "/customer/name": [0, len(name)],
            "/lines/0/product": [text.index(product), text.index(product) + len(product)],
        }
        if i != 0:
            spans["/customer/city"] = [start, start + len(city)]
        rows.append(
            {
                "id": f"order-{i + 1:02d}",
                "text": text,
                "value": value,
                "spans": spans,
                "confidence": {"/customer/city": 0.5} if i == 0 else {},
            }
        )
    rows[1]["value"]["lines"][0]["qty"] = "two"  # type: ignore[index]  # does not validate
    rows[2]["text"] = "<script>window.ran = true; document.title = 'ran'</script> " + str(
        rows[2]["text"]
    )
    rows[2]["spans"] = {}
    return rows
