"""Train the student with spaCy's own trainer, from a blank language.

The prepared documents are split (seeded) into training and held-out sets and written
as spaCy ``DocBin`` files, with the same documents as plain JSON Lines beside them for
other trainers. The config is spaCy's CPU default ("efficiency") for the components the
scheme needs: ``ner`` for span fields, ``textcat_multilabel`` for label fields; it is
written as ``config.cfg`` next to the model, so

    python -m spacy train OUT/config.cfg --paths.train OUT/corpus/train.spacy \\
        --paths.dev OUT/corpus/dev.spacy --output OUT

trains it further. spaCy's trainer evaluates on the held-out set as it goes, keeps the
best pipeline (``model-best``) and stops early when it stops improving; its progress
table is printed as it trains.

``warm_from``: an earlier student of the same scheme whose components start the
training (spaCy's sourced components, resumed rather than initialized), when its
labels cover every label of the new documents (resumed components learn no new
label); otherwise the training starts blank.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extract.backends.spacy_student import META_KEY, SpanScheme
from extract.core._errors import UsageError
from extract.features.batch import json_line

from ._prepare import Prepared

log = logging.getLogger("extract.distill")


@dataclass(frozen=True)
class Trained:
    model: Path  # model-best: pass it to Extractor("spacy:...")
    seconds: float
    train_documents: int
    warm: bool  # started from ``warm_from``
    held_out: tuple[str, ...]  # the held-out documents' ids
    scores: dict[str, Any]  # spaCy's scores of model-best on the held-out documents


def split(
    documents: Sequence[Prepared], held_out: float, seed: int
) -> tuple[list[Prepared], list[Prepared]]:
    """Shuffled (seeded) into training and held-out documents, at least one of each."""
    if len(documents) < 2:
        raise UsageError(f"distill needs at least 2 documents, got {len(documents)}")
    if not 0 < held_out < 1:
        raise UsageError(f"the held-out share must be between 0 and 1, not {held_out}")
    order = list(documents)
    random.Random(seed).shuffle(order)
    n = min(len(order) - 1, max(1, round(len(order) * held_out)))
    return order[n:], order[:n]


@dataclass(frozen=True)
class TrainOptions:
    lang: str = "en"  # the blank spaCy language (its tokenizer)
    held_out: float = 0.2  # share of the documents held out for evaluation
    seed: int = 0
    max_epochs: int = 30
    patience: int = 400  # steps without improvement before stopping
    eval_frequency: int = 50  # steps between evaluations on the held-out documents
    warm_from: Path | None = None  # an earlier student to start from (see the module)


def train(
    scheme: SpanScheme,
    schema: dict[str, Any],
    documents: Sequence[Prepared],
    out: str | os.PathLike[str],
    options: TrainOptions = TrainOptions(),
) -> Trained:
    import spacy
    from spacy.cli.init_config import init_config
    from spacy.cli.train import train as spacy_train

    folder = Path(out)
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    training, held = split(documents, options.held_out, options.seed)
    nlp = spacy.blank(options.lang)
    for name, docs in (("train", training), ("dev", held)):
        _write(nlp, docs, corpus / name)
    pipeline = (["ner"] if scheme.spans else []) + (["textcat_multilabel"] if scheme.labels else [])
    if not pipeline:
        raise UsageError("nothing to learn: the target has no span or label fields")
    config = init_config(lang=options.lang, pipeline=pipeline, optimize="efficiency", gpu=False)
    warm = options.warm_from is not None and _covers(options.warm_from, pipeline, documents)
    if warm:
        for name in ["tok2vec", *pipeline]:
            config["components"][name] = {"source": str(options.warm_from)}
    config["system"]["seed"] = options.seed
    config["training"].update(
        max_epochs=options.max_epochs,
        max_steps=0,
        patience=options.patience,
        eval_frequency=options.eval_frequency,
    )
    config_path = folder / "config.cfg"
    config.to_disk(config_path)
    started = time.perf_counter()
    paths = {"paths.train": str(corpus / "train.spacy"), "paths.dev": str(corpus / "dev.spacy")}
    spacy_train(config_path, folder, use_gpu=-1, overrides=paths)
    seconds = time.perf_counter() - started
    meta = {"scheme": scheme.to_json(), "schema": schema, "held_out": [d.id for d in held]}
    for name in ("model-best", "model-last"):
        _add_meta(folder / name, meta)
    scores = json.loads((folder / "model-best" / "meta.json").read_text()).get("performance", {})
    return Trained(
        folder / "model-best", seconds, len(training), warm, tuple(d.id for d in held), scores
    )


def _covers(model: Path, pipeline: list[str], documents: Sequence[Prepared]) -> bool:
    """The earlier student has these components and every label the documents use."""
    import spacy

    try:
        nlp = spacy.load(model)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot start from {model}: not a spaCy pipeline ({exc})") from exc
    if not all(nlp.has_pipe(name) for name in ["tok2vec", *pipeline]):
        log.warning("starting blank: %s has not the components %s", model, pipeline)
        return False
    wanted = {"ner": {e[2] for d in documents for e in d.entities},
              "textcat_multilabel": {c for d in documents for c in d.cats}}  # fmt: skip
    missing = {
        label
        for name in pipeline
        for label in wanted[name] - set(getattr(nlp.get_pipe(name), "labels", ()))
    }
    if missing:
        log.warning("starting blank: %s has not learned %s", model, sorted(missing))
    return not missing


def _write(nlp: Any, documents: Sequence[Prepared], stem: Path) -> None:
    """``stem.spacy`` (a DocBin) and ``stem.jsonl`` (text, spans with labels, cats)."""
    from spacy.tokens import DocBin

    docs = DocBin(store_user_data=False)
    with open(f"{stem}.jsonl", "w", encoding="utf-8") as f:
        for item in documents:
            doc = nlp.make_doc(item.text)
            ents = [doc.char_span(s, e, label=label) for s, e, label, _ in item.entities]
            if item.spans_complete:
                doc.set_ents([e for e in ents if e is not None])
            else:  # nothing said about spans here: the tokens are unknown, not "no entity"
                doc.set_ents([], default="missing")
            doc.cats = dict(item.cats)
            docs.add(doc)
            line = {
                "id": item.id,
                "text": item.text,
                "spans": [
                    {"start": s, "end": e, "label": label, "pointer": pointer}
                    for s, e, label, pointer in item.entities
                ],
                "cats": item.cats,
                "spans_complete": item.spans_complete,
            }
            f.write(json_line(line) + "\n")
    docs.to_disk(f"{stem}.spacy")


def _add_meta(model: Path, data: dict[str, Any]) -> None:
    path = model / "meta.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta[META_KEY] = data
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
