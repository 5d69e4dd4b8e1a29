"""Concept questions: a few multiple-choice questions that end each chapter, checked on the spot.

Each chapter's exercise module defines `QUIZZES = {"04a": Quiz(...)}`. In the notebook,
`quiz` displays the questions; `quiz.check({1: "b", 2: None, ...})` grades the answers,
explaining a wrong choice (what it gets wrong) and a right one (why it is right).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from bertlab.exercises import CheckResult, failed, passed


@dataclass(frozen=True)
class Question:
    """One question: its choices by letter, the right letter, and feedback for every choice."""

    prompt: str
    choices: Mapping[str, str]  # letter -> text of the choice
    answer: str  # the right letter
    why: str  # shown when the answer is right
    wrong: Mapping[str, str]  # letter -> what that choice gets wrong

    def __post_init__(self) -> None:
        if self.answer not in self.choices:
            raise ValueError(f"answer {self.answer!r} is not one of the choices "
                             f"{list(self.choices)}")
        missing = set(self.choices) - {self.answer} - set(self.wrong)
        if missing:
            raise ValueError(f"no feedback for the wrong choice(s) {sorted(missing)}: "
                             f"{self.prompt}")


@dataclass(frozen=True)
class QuizResult:
    """The verdicts on a set of answers, shown as one block in the notebook."""

    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        """True when every question is answered right."""
        return all(result.passed for result in self.results)

    def _headline(self) -> str:
        right = sum(result.passed for result in self.results)
        open_ = [str(number) for number, result in enumerate(self.results, start=1)
                 if not result.attempted]
        left = f"; not answered yet: {', '.join(open_)} (replace None with a letter)" if open_ \
            else ""
        return f"{right} of {len(self.results)} right{left}"

    def __str__(self) -> str:
        answered = [str(result) for result in self.results if result.attempted]
        return "\n".join([self._headline()] + answered)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        body = "".join(result._repr_html_() for result in self.results if result.attempted)
        return f"<div><b>{escape(self._headline())}</b>{body}</div>"


@dataclass(frozen=True)
class Quiz:
    """A chapter's concept questions: display them, then check a dict of answers."""

    chapter: str
    questions: tuple[Question, ...]

    def __str__(self) -> str:
        lines = [f"Concept questions, chapter {self.chapter}"]
        for number, question in enumerate(self.questions, start=1):
            lines.append(f"{number}. {question.prompt}")
            lines += [f"   ({letter}) {text}" for letter, text in question.choices.items()]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        items = []
        for question in self.questions:
            choices = "".join(f"<li>({escape(letter)}) {escape(text)}</li>"
                              for letter, text in question.choices.items())
            items.append(f"<li>{escape(question.prompt)}<ul style='list-style:none'>{choices}"
                         "</ul></li>")
        return f"<div><b>Concept questions, chapter {escape(self.chapter)}</b><ol>" \
               f"{''.join(items)}</ol></div>"

    def check(self, answers: Mapping[int, str | None]) -> QuizResult:
        """Grade answers given as {question number: letter}; None means not answered yet."""
        results = []
        for number, question in enumerate(self.questions, start=1):
            name = f"question {number}"
            given = answers.get(number)
            if given is None:
                results.append(CheckResult(name, False, "not answered yet.", attempted=False))
                continue
            letter = str(given).strip().lower().strip("()")
            if letter == question.answer:
                results.append(passed(name, question.why))
            elif letter in question.wrong:
                results.append(failed(name, f"not ({letter}): {question.wrong[letter]}"))
            else:
                results.append(failed(name, f"answer with one of {', '.join(question.choices)}"))
        return QuizResult(tuple(results))
