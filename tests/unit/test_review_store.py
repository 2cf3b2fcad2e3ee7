"""The review store against a model of it (Hypothesis state machine): answers, stale
versions, undo and restarts, with the export read back after every step."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from extract.apps.review import ANSWERS, Conflict, Item, Store

IDS = [f"d{i}" for i in range(4)]
ITEMS = [
    Item(position=i, id=ident, text=f"text of {ident}", value={}) for i, ident in enumerate(IDS)
]


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp())
        self.out = self.folder / "reviewed.jsonl"
        self.store = self._open()
        # The model: id -> (answer, gold, example) or None, versions, and the undo stack.
        self.saved: dict[str, tuple[str, Any, bool] | None] = dict.fromkeys(IDS)
        self.versions = dict.fromkeys(IDS, 0)
        self.history: list[tuple[str, tuple[str, Any, bool] | None]] = []

    def _open(self) -> Store:
        store = Store(self.folder / "db.sqlite", self.out)
        store.add(ITEMS)
        return store

    @rule(
        ident=st.sampled_from(IDS),
        answer=st.sampled_from(ANSWERS),
        gold=st.dictionaries(st.sampled_from("ab"), st.integers() | st.text(max_size=3)),
        example=st.booleans(),
        stale=st.booleans(),
    )
    def answer(self, ident: str, answer: str, gold: Any, example: bool, stale: bool) -> None:
        record = gold if answer in ("accept", "correct") else None
        version = (
            self.versions[ident] - 1 if stale and self.versions[ident] else self.versions[ident]
        )
        if version != self.versions[ident]:
            try:
                self.store.answer(ident, version, answer, record, example)
            except Conflict:
                return
            raise AssertionError("a stale version was saved")
        assert self.store.answer(ident, version, answer, record, example) == version + 1
        self.history.append((ident, self.saved[ident]))
        self.saved[ident] = (answer, record, example)
        self.versions[ident] += 1

    @rule()
    def undo(self) -> None:
        undone = self.store.undo()
        if not self.history:
            assert undone is None
            return
        ident, before = self.history.pop()
        assert undone == ident
        self.saved[ident] = before
        self.versions[ident] += 1

    @rule()
    def restart(self) -> None:
        self.store.close()
        self.store = self._open()

    @precondition(lambda self: any(self.saved.values()))
    @rule()
    def lose_the_database(self) -> None:
        # Only the export is left: a new database takes the answers back from it.
        self.store.close()
        (self.folder / "db.sqlite").unlink()
        self.store = self._open()
        assert self.store.resume_from_export() == sum(1 for s in self.saved.values() if s)
        self.versions = {i: 1 if self.saved[i] else 0 for i in IDS}
        self.history = []

    @invariant()
    def the_export_and_the_state_match_the_model(self) -> None:
        expected = [
            {"id": i, "text": f"text of {i}", "gold": s[1], "answer": s[0], "example": s[2]}
            for i, s in self.saved.items()
            if s is not None
        ]
        lines = self.out.read_text(encoding="utf-8").splitlines() if self.out.exists() else []
        assert [json.loads(line) for line in lines] == expected
        for ident in IDS:
            state = self.store.state(ident)
            saved = self.saved[ident]
            assert state.version == self.versions[ident]
            assert (state.answer, state.gold, state.example) == (saved or (None, None, False))
        done, total = self.store.progress()
        assert (done, total) == (len(expected), len(IDS))
        assert self.store.open_positions() == [
            i for i, ident in enumerate(IDS) if not self.saved[ident]
        ]

    def teardown(self) -> None:
        self.store.close()


StoreMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
test_the_store_keeps_every_answer = StoreMachine.TestCase
