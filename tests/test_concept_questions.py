"""Every chapter ends with 3-5 concept questions; each check accepts the reference answers and
rejects every wrong choice with that choice's own feedback."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from conftest import load_solution

import bertlab.exercises
from bertlab.exercises.concepts import Question, Quiz

ROOT = Path(__file__).resolve().parent.parent


def _quizzes() -> dict[str, Quiz]:
    found: dict[str, Quiz] = {}
    for info in pkgutil.iter_modules(bertlab.exercises.__path__):
        module = importlib.import_module(f"bertlab.exercises.{info.name}")
        for key, quiz in getattr(module, "QUIZZES", {}).items():
            assert key not in found, f"two quizzes for chapter {key}"
            found[key] = quiz
    return found


def _answers() -> dict[str, dict[int, str]]:
    found: dict[str, dict[int, str]] = {}
    for path in sorted((ROOT / "solutions").glob("ch*.py")):
        found.update(getattr(load_solution(path.stem), "CONCEPT_ANSWERS", {}))
    return found


QUIZZES = _quizzes()
ANSWERS = _answers()
CHAPTERS = sorted(path.name.split("_", 1)[0] for path in (ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_has_three_to_five_questions(chapter: str) -> None:
    assert chapter in QUIZZES, f"chapter {chapter} has no concept questions"
    quiz = QUIZZES[chapter]
    assert quiz.chapter == chapter
    assert 3 <= len(quiz.questions) <= 5
    notebook = next((ROOT / "notebooks").glob(f"{chapter}_*.ipynb")).read_text()
    assert f'QUIZZES[\\"{chapter}\\"]' in notebook or f"QUIZZES['{chapter}']" in notebook, \
        f"chapter {chapter}'s notebook does not show its quiz"


@pytest.mark.parametrize("chapter", sorted(QUIZZES))
def test_reference_answers_pass_and_every_wrong_choice_fails(chapter: str) -> None:
    quiz = QUIZZES[chapter]
    answers = ANSWERS[chapter]
    assert quiz.check(answers).passed
    assert set(answers) == set(range(1, len(quiz.questions) + 1))
    for number, question in enumerate(quiz.questions, start=1):
        assert answers[number] == question.answer
        for letter in question.choices:
            if letter == question.answer:
                continue
            result = quiz.check({**answers, number: letter})
            assert not result.passed
            verdict = result.results[number - 1]
            assert not verdict.passed and verdict.attempted
            assert question.wrong[letter] in verdict.message
            assert all(other.passed for i, other in enumerate(result.results) if i != number - 1)
    blank = quiz.check({})
    assert not blank.passed and not any(result.attempted for result in blank.results)
    assert "Hint" not in str(blank)


def test_quiz_rejects_unknown_letters_and_shows_the_questions() -> None:
    question = Question("Which is a vowel?", {"a": "a", "b": "b"}, "a", "a is a vowel.",
                        {"b": "b is a consonant."})
    quiz = Quiz("99", (question,))
    assert "(b) b" in str(quiz) and "Which is a vowel?" in quiz._repr_html_()
    assert quiz.check({1: "(A)"}).passed
    unknown = quiz.check({1: "z"}).results[0]
    assert not unknown.passed and "one of a, b" in unknown.message
    with pytest.raises(ValueError, match="no feedback"):
        Question("q", {"a": "x", "b": "y"}, "a", "why", {})
    with pytest.raises(ValueError, match="not one of the choices"):
        Question("q", {"a": "x"}, "c", "why", {})
