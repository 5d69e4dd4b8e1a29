"""Exercise checks: every chapter's exercises are graded here, with feedback a learner can act on.

A check never raises on a wrong or missing answer; it returns a `CheckResult` that the
notebook displays, so "Restart kernel and run all" works before the learner has answered.
A hint appears only after a wrong answer, never before a first try. Predict-then-measure
exercises (`check_measurement`) record the learner's prediction and accept any honest
measurement in range. Reference solutions live in `solutions/`, and
`tests/test_exercises_<chapter>.py` prove every check passes its solution and fails a wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one exercise answer, with the feedback that explains it."""

    exercise: str
    passed: bool
    message: str
    attempted: bool = True
    hint: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if not self.attempted:
            mark = "…"
        else:
            mark = "✓" if self.passed else "✗"
        text = f"{mark} {self.exercise}: {self.message}"
        show_hint = self.hint and self.attempted and not self.passed
        return f"{text} Hint: {self.hint}" if show_hint else text

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else ("#9a6700" if not self.attempted else "#cf222e")
        from html import escape

        return (
            f'<div style="border-left:4px solid {colour};padding:4px 8px">'
            f"<b>{escape(str(self).split(':', 1)[0])}</b>: "
            f"{escape(str(self).split(': ', 1)[1])}</div>"
        )

    def __repr__(self) -> str:
        return str(self)


def passed(exercise: str, message: str = "correct.") -> CheckResult:
    """Build a passing result."""
    return CheckResult(exercise, True, message)


def failed(exercise: str, message: str, hint: str = "") -> CheckResult:
    """Build a failing result whose message says what to fix (and the hint, after a real try)."""
    return CheckResult(exercise, False, message, hint=hint)


def not_attempted(exercise: str, hint: str = "") -> CheckResult:
    """Build the result for an answer that is still the placeholder: no hint before a first try."""
    del hint  # shown only once the learner has tried and missed
    return CheckResult(exercise, False, "not attempted yet: replace the `raise "
                       "NotImplementedError` (or the `None`) with your answer and run the cell "
                       "again.", attempted=False)


def run_answer(exercise: str, hint: str, answer: Callable[..., Any], *args: Any) -> Any:
    """Call a learner's function, turning NotImplementedError into a 'not attempted' result.

    Returns the function's value, or a CheckResult when the call could not produce one.
    """
    try:
        return answer(*args)
    except NotImplementedError:
        return not_attempted(exercise, hint)
    except Exception as error:  # a learner's bug: report it instead of crashing the check
        return failed(exercise, f"your function raised {type(error).__name__}: {error}", hint)


def no_prediction(exercise: str) -> CheckResult:
    """The result before the learner has written a prediction: nothing is measured yet."""
    return CheckResult(exercise, False, "write your prediction down first (a number in the "
                       "`prediction` variable), then measure.", attempted=False)


def check_measurement(
    exercise: str,
    prediction: float | None,
    measured: Any,
    expected: float,
    tolerance: float,
    *,
    hint: str,
    lesson: str,
    mistakes: Sequence[tuple[float, float, str]] = (),
) -> CheckResult:
    """Grade a predict-then-measure exercise: any honest measurement in range passes.

    `prediction` is what the learner wrote down before measuring; it is never graded, only
    put next to the measurement. `measured` is the learner's number (or the CheckResult of
    `run_answer`); `expected` is the check's own measurement of the same thing, and
    `tolerance` how far an honest measurement can land from it (sampling noise, seeds).
    Each of `mistakes` is (the value a known slip gives, how close counts as it, a message
    naming the slip), used for a measurement out of range.
    """
    if prediction is None:
        return no_prediction(exercise)
    if isinstance(measured, CheckResult):
        return measured
    try:
        guess = float(prediction)
    except (TypeError, ValueError):
        return failed(exercise, f"write your prediction as a number, got {prediction!r}")
    try:
        value = float(measured)  # a Python number or a one-element tensor/array
    except (TypeError, ValueError, RuntimeError):
        return failed(exercise, f"return one number, got {type(measured).__name__}", hint)
    if not abs(value - expected) <= tolerance:
        for wrong, within, message in mistakes:
            if abs(value - wrong) <= within:
                return failed(exercise, f"you measured {value:.4g}: {message}", hint)
        return failed(exercise, f"you measured {value:.4g}, but this experiment gives "
                                f"{expected:.4g} ± {tolerance:.2g}; check what your code measures.",
                      hint)
    gap = abs(guess - value)
    verdict = "your prediction was close" if gap <= max(tolerance, 0.1 * abs(value)) else \
        "your prediction was off"
    return passed(exercise, f"you predicted {guess:.4g} and measured {value:.4g}: "
                            f"{verdict}. {lesson}")
