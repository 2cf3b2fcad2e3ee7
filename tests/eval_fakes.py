"""A backend for evaluation tests: each document carries its own answer.

A text ``"... ANSWER: {json}"`` is answered with that JSON; ``CRASH`` in the text raises;
the instruction ``FORGET CITY`` in the system prompt drops the ``city`` field, so two
systems that differ only in instructions score differently.
"""

from __future__ import annotations

import json

from backends import Capabilities, Completion, Request


class AnswerInText:
    def __init__(self) -> None:
        self.requests: list[Request] = []

    @property
    def name(self) -> str:
        return "fake:answer-in-text"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities()

    def complete(self, request: Request) -> Completion:
        self.requests.append(request)
        system = request.messages[0].content
        text = request.messages[-1].content
        if "CRASH" in text:
            raise RuntimeError("the backend crashed")
        answer = json.loads(text.split("ANSWER: ", 1)[1])
        if "FORGET CITY" in system:
            answer.pop("city", None)
        return Completion(json.dumps(answer), "stop", prompt_tokens=10, completion_tokens=5)


def answer_in_text() -> AnswerInText:
    return AnswerInText()
