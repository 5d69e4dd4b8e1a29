"""Exercise checks: every chapter's exercises are graded here, with feedback a learner can act on.

A check never raises on a wrong or missing answer; it returns a `CheckResult` that the
notebook displays, so "Restart kernel and run all" works before the learner has answered.
Reference solutions live in `solutions/`, and `tests/test_exercises_<chapter>.py` prove every check
passes its solution and fails a wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one exercise answer, with the feedback that explains it."""

    exercise: str
    passed: bool
    message: str
    attempted: bool = True

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if not self.attempted:
            mark = "…"
        else:
            mark = "✓" if self.passed else "✗"
        return f"{mark} {self.exercise}: {self.message}"

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else ("#9a6700" if not self.attempted else "#cf222e")
        from html import escape

        return (
            f'<div style="border-left:4px solid {colour};padding:4px 8px">'
            f"<b>{escape(str(self).split(':', 1)[0])}</b>: {escape(self.message)}</div>"
        )

    def __repr__(self) -> str:
        return str(self)


def passed(exercise: str, message: str = "correct.") -> CheckResult:
    """Build a passing result."""
    return CheckResult(exercise, True, message)


def failed(exercise: str, message: str) -> CheckResult:
    """Build a failing result whose message says what to fix."""
    return CheckResult(exercise, False, message)


def not_attempted(exercise: str, hint: str) -> CheckResult:
    """Build the result for an answer that is still the notebook's placeholder."""
    return CheckResult(exercise, False, f"not attempted yet. Hint: {hint}", attempted=False)


def run_answer(exercise: str, hint: str, answer: Callable[..., Any], *args: Any) -> Any:
    """Call a learner's function, turning NotImplementedError into a 'not attempted' result.

    Returns the function's value, or a CheckResult when the call could not produce one.
    """
    try:
        return answer(*args)
    except NotImplementedError:
        return not_attempted(exercise, hint)
    except Exception as error:  # a learner's bug: report it instead of crashing the check
        return failed(exercise, f"your function raised {type(error).__name__}: {error}")
