"""Several documents decoded together in one llama context (the local backend)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated, Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import extract

pytestmark = pytest.mark.model


class City(BaseModel):
    name: Annotated[str, Field(max_length=30)]
    country: Annotated[str, Field(max_length=30)]


TEXTS = [
    "I flew to Lisbon, Portugal last May.",
    "Oslo, Norway is cold in winter.",
    "We met in Rome, Italy.",
    "Kyoto, Japan is lovely in spring.",
    "The conference is in Nairobi, Kenya.",
    "She grew up in Lima, Peru.",
]


@pytest.fixture(scope="module")
def backend() -> Iterator[Any]:
    from extract.backends.llamacpp import LlamaCppBackend
    from extract.core._model import default_model_path

    made = LlamaCppBackend(default_model_path(), n_ctx=4096, sequences=4)
    yield made
    made.close()


def _tokens(backend: Any, text: str) -> list[int]:
    return list(backend.llm.tokenize(text.encode(), add_bos=False))


def test_a_sequence_sees_only_its_own_tokens(backend: Any) -> None:
    from extract.backends._sequences import Feed

    seqs = backend.sequences
    a = _tokens(backend, "The capital of France is Paris. The capital of Spain is")
    b = _tokens(backend, "Seven eight nine ten eleven twelve thirteen fourteen")
    busy = list(range(seqs.count))
    for seq in busy:
        seqs.place(seq, [0, 1])  # nothing to share with a or b
        seqs.decode([], busy)
    alone = seqs.decode([Feed(0, 0, a)], busy)[0]
    other_alone = seqs.decode([Feed(1, 0, b)], busy)[1]
    together = seqs.decode([Feed(0, 0, a), Feed(1, 0, b)], busy)
    # Same tokens, same positions: a leak of b into a's attention would move its logits
    # by far more than the order of float sums does.
    for mine, ref in ((together[0], alone), (together[1], other_alone)):
        assert int(np.argmax(mine)) == int(np.argmax(ref))
        assert float(np.abs(mine - ref).max()) < 0.05 * float(ref.std())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 3),  # sequence
            st.lists(st.integers(100, 120), min_size=2, max_size=12),  # prompt
            st.integers(0, 4),  # tokens decoded after it
        ),
        min_size=1,
        max_size=8,
    )
)
def test_what_a_sequence_holds_is_what_llama_cpp_holds(
    backend: Any, steps: list[tuple[int, list[int], int]]
) -> None:
    import llama_cpp

    from extract.backends._sequences import Feed

    seqs = backend.sequences
    memory = llama_cpp.llama_get_memory(seqs.ctx)
    for seq, prompt, extra in steps:
        kept = seqs.place(seq, prompt)
        assert seqs.held[seq] == prompt[:kept] and kept < len(prompt)
        others = [s for s in range(seqs.count) if s != seq]
        longest = max((len(_shared(seqs.held[s], prompt)) for s in others), default=0)
        assert kept >= min(longest, len(prompt) - 1)  # the longest prefix any sequence had
        seqs.decode([Feed(seq, kept, prompt[kept:])], [seq])
        for i in range(extra):
            seqs.decode([Feed(seq, len(prompt) + i, [101])], [seq])
        assert seqs.held[seq] == prompt + [101] * extra
        for s in range(seqs.count):
            assert llama_cpp.llama_memory_seq_pos_max(memory, s) + 1 == len(seqs.held[s])


def _shared(held: list[int], tokens: list[int]) -> list[int]:
    out: list[int] = []
    for x, y in zip(held, tokens, strict=False):
        if x != y:
            break
        out.append(x)
    return out


def shared_prompt(backend: Any) -> int:
    """The tokens two documents' prompts share: the system prompt and chat markup."""
    from extract.backends._sequences import common_prefix
    from extract.core._prompt import build_messages
    from extract.schemas import compile_schema

    schema = compile_schema(City).json_schema
    prompts = [
        backend.prompt_tokens(
            build_messages(schema, text, instructions=None, examples=(), target=City)
        )
        for text in TEXTS[:2]
    ]  # fmt: skip
    return common_prefix(prompts[0], prompts[1], len(prompts[0]))


def test_run_many_decodes_documents_together(backend: Any) -> None:
    extractor = extract.Extractor(backend)
    extractor.run(City, TEXTS[0])  # the system prompt is now held
    seqs = backend.sequences
    before = seqs.passes
    one_by_one = [extractor.run(City, text) for text in TEXTS]
    sequential_passes = seqs.passes - before

    widths: list[int] = []
    decode = seqs.decode

    def counted(feeds: Any, busy: Any) -> Any:
        widths.append(len({feed.seq for feed in feeds}))
        return decode(feeds, busy)

    seqs.decode = counted
    try:
        before = seqs.passes
        outcomes = list(extractor.run_many(City, TEXTS, concurrency=4))
        batched_passes = seqs.passes - before
    finally:
        del seqs.decode
    assert [o.id for o in outcomes] == [str(i) for i in range(len(TEXTS))]
    assert all(o.ok and isinstance(o.result.value, City) for o in outcomes)
    assert max(widths) == 4  # four documents in one forward pass
    assert batched_passes < 0.6 * sequential_passes
    # Every document after the first found the system prompt in some sequence.
    system = min(r.usage.cached_prompt_tokens for r in one_by_one)
    assert system >= shared_prompt(backend) > 100
    assert all(o.result.usage.cached_prompt_tokens >= system for o in outcomes)
    # Greedy answers: the values agree with one-at-a-time decoding field by field
    # except where float summation order tips a near tie (docs/benchmarks/batching.md).
    agree = sum(a.value == o.result.value for a, o in zip(one_by_one, outcomes, strict=True))
    assert agree >= len(TEXTS) // 2


def test_admission_keeps_the_answers_in_flight_within_the_context() -> None:
    from extract.backends.llamacpp import LlamaCppBackend
    from extract.core._model import default_model_path

    small = LlamaCppBackend(default_model_path(), n_ctx=1536, sequences=4)
    try:
        most = 0
        step = small._step

        def watched() -> None:
            nonlocal most
            step()
            most = max(most, len(small._active))
            # Room for every answer's whole budget: no attempt can run out of cells.
            assert small._reserved() <= small.sequences.n_ctx

        small._step = watched  # type: ignore[method-assign]
        extractor = extract.Extractor(small)
        outcomes = list(extractor.run_many(City, TEXTS[:4], concurrency=4, max_tokens=400))
        assert all(o.ok for o in outcomes)
        assert 1 <= most < 4  # 4 x (prompt + 400) does not fit in 1536 cells
    finally:
        small.close()


def test_callers_on_many_threads_all_get_their_own_answer(backend: Any) -> None:
    extractor = extract.Extractor(backend)
    alone = [extractor.extract(City, text) for text in TEXTS[:4]]
    assert len({a.model_dump_json() for a in alone}) == 4, "the documents must differ"
    results: dict[int, Any] = {}

    def work(i: int) -> None:
        results[i] = extractor.extract(City, TEXTS[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert sorted(results) == [0, 1, 2, 3]
    for i, value in results.items():
        others = [a for j, a in enumerate(alone) if j != i]
        assert value not in others, f"document {i} got another document's answer"
    assert sum(results[i] == alone[i] for i in range(4)) >= 3


class Trip(BaseModel):
    destination: Annotated[str, Field(max_length=30, description="where to")]


def test_a_cold_batch_evaluates_the_shared_system_prompt_once(backend: Any) -> None:
    extractor = extract.Extractor(backend)
    outcomes = list(extractor.run_many(Trip, TEXTS[:4], concurrency=4))  # a new schema
    cached = sorted(o.result.usage.cached_prompt_tokens for o in outcomes if o.result)
    assert len(cached) == 4
    # One document evaluated the new system prompt; the others copied it.
    assert cached[1] - cached[0] >= 30
