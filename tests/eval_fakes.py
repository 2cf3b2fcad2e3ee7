"""A backend for evaluation tests: each document carries its own answer.

A text ``"... ANSWER: {json}"`` is answered with that JSON; ``CRASH`` in the text raises;
``INVALID`` answers a record that never validates; ``FLIP`` drops the city every other
time the same text is asked (a system whose runs differ); the instruction ``FORGET
CITY`` in the system prompt drops the ``city`` field, so two systems that differ only
in instructions score differently.
"""

from __future__ import annotations

import json

from extract.backends import Capabilities, Completion, Request


class AnswerInText:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.asked: dict[str, int] = {}

    @property
    def name(self) -> str:
        return "fake:answer-in-text"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities()

    def complete(self, request: Request) -> Completion:
        self.requests.append(request)
        system = request.messages[0].content
        text = request.messages[1].content  # the system prompt, then the document
        if "CRASH" in text:
            raise RuntimeError("the backend crashed")
        if "INVALID" in text:
            return Completion('{"name": 5}', "stop", prompt_tokens=10, completion_tokens=5)
        answer = json.loads(text.split("ANSWER: ", 1)[1])
        self.asked[text] = self.asked.get(text, 0) + 1
        if "FORGET CITY" in system or ("FLIP" in text and self.asked[text] % 2 == 0):
            answer.pop("city", None)
        return Completion(json.dumps(answer), "stop", prompt_tokens=10, completion_tokens=5)


def answer_in_text() -> AnswerInText:
    return AnswerInText()
