"""Chapter 07 exercise checks: a control task, removing a head, a head's cost in fill-in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from bertlab.exercises import (
    CheckResult,
    check_measurement,
    failed,
    no_prediction,
    passed,
    run_answer,
)
from bertlab.exercises.concepts import Question, Quiz
from bertlab.fill_in import fill_in_accuracy
from bertlab.linear_probes import ProbeTask, held_out_by_document, probe_accuracy
from bertlab.probes import heads_ablated


def control_accuracy(task: ProbeTask, layer: int = 0, seed: int = 0) -> float:
    """The control task's test accuracy at one layer, split by document as the chapter does."""
    test = held_out_by_document(task.documents, seed=seed)
    return probe_accuracy(task.features[layer], task.control_labels(seed), len(task.classes),
                          test)


def check_control_accuracy(prediction: float | None, measure: Callable[[ProbeTask], float],
                           task: ProbeTask) -> CheckResult:
    """Grade measure(task): the control accuracy of the word-class probe at the embedding layer."""
    exercise = "control task at the embedding layer"
    hint = ("control = task.control_labels(0); test = lp.held_out_by_document(task.documents); "
            "lp.probe_accuracy(task.features[0], control, len(task.classes), test)")
    if prediction is None:
        return no_prediction(exercise)
    measured = run_answer(exercise, hint, measure, task)
    expected = control_accuracy(task)
    return check_measurement(
        exercise, prediction, measured, expected, 0.005, hint=hint,
        lesson="A linear probe learns arbitrary labels well when each word type always has the "
               "same one: the embedding layer holds word identity, so the control is far above "
               "chance. That is why selectivity, not accuracy, says what a layer adds.")


def name_accuracy_drop(model: Any, tokenizer: Any, blanks: Sequence[Any],
                       documents: Sequence[Sequence[str]], layer: int, head: int) -> float:
    """How much the fill-in accuracy on `blanks` falls when one head is removed."""
    full = fill_in_accuracy(model, tokenizer, blanks, documents).accuracy
    with heads_ablated(model, [(layer, head)]):
        without = fill_in_accuracy(model, tokenizer, blanks, documents).accuracy
    return full - without


def check_copy_head_drop(prediction: float | None, measure: Callable[..., float], model: Any,
                         tokenizer: Any, blanks: Sequence[Any],
                         documents: Sequence[Sequence[str]], layer: int,
                         head: int) -> CheckResult:
    """Grade measure(model, tokenizer, blanks, documents, layer, head): the drop in fill-in
    accuracy on name and town blanks when the best copy head is removed."""
    exercise = "removing the best copy head"
    hint = ("score fill_in.fill_in_accuracy(model, tokenizer, blanks, documents) once as is and "
            "once inside `with probes.heads_ablated(model, [(layer, head)]):`; return "
            "the first accuracy minus the second")
    if prediction is None:
        return no_prediction(exercise)
    measured = run_answer(exercise, hint, measure, model, tokenizer, blanks, documents, layer,
                          head)
    expected = name_accuracy_drop(model, tokenizer, blanks, documents, layer, head)
    return check_measurement(
        exercise, prediction, measured, expected, 0.005, hint=hint,
        lesson="One head's removal costs only part of what the model knows about names: other "
               "heads and layers carry some of the copying too. Attention that points at the "
               "answer is evidence of a mechanism, not proof that the model depends on it.")


def check_zero_head(answer: Callable[[torch.Tensor, int, int], torch.Tensor]) -> CheckResult:
    """Grade zero_head(context, head, head_size): the heads' outputs with one head's set to 0."""
    exercise = "remove one head"
    hint = ("the heads sit side by side in the last dimension: head h is "
            "context[..., h * head_size:(h + 1) * head_size]; clone, set that slice to 0, return")
    generator = torch.Generator().manual_seed(7)
    for head, heads, size in ((1, 4, 3), (0, 2, 5), (3, 4, 2)):
        context = torch.randn(2, 5, heads * size, generator=generator)
        original = context.clone()
        result = run_answer(exercise, hint, answer, context, head, size)
        if isinstance(result, CheckResult):
            return result
        if not isinstance(result, torch.Tensor) or result.shape != original.shape:
            return failed(exercise, f"return a tensor of the input's shape {tuple(original.shape)}",
                          hint)
        expected = original.clone()
        expected[..., head * size:(head + 1) * size] = 0.0
        if torch.equal(result, expected):
            if not torch.equal(context, original):
                return failed(exercise, "right values, but you changed the input tensor in "
                                        "place: clone it first (a hook must not edit what "
                                        "other code still reads)")
            continue
        if torch.equal(result, original - expected):
            return failed(exercise, "you kept only the head and zeroed all the others: "
                                    "zero the head's slice, keep the rest")
        zeroed = (result == 0).all(dim=(0, 1)).nonzero().flatten().tolist()
        if zeroed and zeroed != list(range(head * size, (head + 1) * size)):
            return failed(exercise, f"you zeroed features {zeroed}, but head {head} of size "
                                    f"{size} owns features {head * size}..{(head + 1) * size - 1}",
                          hint)
        return failed(exercise, "the result is not the input with exactly one head's slice "
                                "set to zero", hint)
    return passed(exercise, "the same tensor `probes.heads_ablated` gives the output "
                            "projection, for every head and size tried.")


QUIZZES = {"07": Quiz("07", (
    Question(
        "A linear probe on the embedding layer finds the word class of 99% of test words, and "
        "its control task (labels shuffled per word type) scores 75%. What does that say?",
        {"a": "The embedding layer has learned grammar: 99% is near perfect.",
         "b": "Most of the 99% is word identity, which any probe can map to labels; the layer "
              "adds about 24 points beyond a memoriser of word types.",
         "c": "The control task shows the probe is broken: shuffled labels should give 0%."},
        "b",
        "Word class is nearly a function of the word, and the embedding layer holds the word: "
        "the control measures how much a probe can get from identity alone.",
        {"a": "a probe scores that high on labels that are pure word identity too; accuracy "
              "alone cannot separate knowing grammar from remembering words.",
         "c": "control labels are a fixed random label per word type, so memorising types "
              "scores well above chance; 0% would need every word to be unseen."}),
    Question(
        "Why are the probes trained on some documents and tested on others, rather than on a "
        "random split of the words?",
        {"a": "Words of one document share context (the same names, the same topic); a random "
              "word split would let the probe match a test word to its neighbours seen in "
              "training.",
         "b": "It makes the probes train faster.",
         "c": "A random split is impossible because words repeat."},
        "a",
        "Splitting by document keeps every test word's context unseen, as for the fill-in "
        "blanks.",
        {"b": "the split does not change the amount of training data much; it changes what "
              "can leak from training to test.",
         "c": "a random split of word positions is perfectly possible; it is just leaky."}),
    Question(
        "At the embedding layer, the document-kind probe that reads the [CLS] vector scores "
        "exactly the most-common-label rate. Why?",
        {"a": "The probe is too weak to separate three classes.",
         "b": "The [CLS] embedding is the same vector in every document (same token, same "
              "position): nothing about the document has reached it before the first layer.",
         "c": "Document kind is not learnable from text."},
        "b",
        "Only attention moves information between positions, so [CLS] knows the document "
        "from layer 1 on.",
        {"a": "the same probe scores near 100% from layer 1 on.",
         "c": "it is learnable: a probe reads it from [CLS] after the first layer."}),
    Question(
        "A head attends from verbs to their subjects more often than any other head, yet "
        "removing it barely changes fill-in accuracy on verbs. What is the most careful "
        "conclusion?",
        {"a": "The head is useless and attention maps mean nothing.",
         "b": "Fill-in accuracy is broken.",
         "c": "Where a head looks and what the output depends on are different questions: "
              "other heads or layers may carry the same information (Jain & Wallace 2019; "
              "Michel et al. 2019)."},
        "c",
        "Attention weight describes a computation; ablation measures reliance. Redundant heads "
        "make the two disagree.",
        {"a": "the attention pattern is real (it is measured against ground truth); it only "
              "shows the model does not rely on this head alone.",
         "b": "the same measurement shows large drops for other heads, so it can detect "
              "reliance when there is some."}),
    Question(
        "Pretrained with NSP, the course recipe starts copying names thousands of steps later "
        "than the same model pretrained with sentence order (ALBERT) or with no sentence task "
        "(RoBERTa). Which explanation do the ablations support?",
        {"a": "NSP's loss is large and drowns out the masked-word loss.",
         "b": "In half of NSP's inputs segment B comes from another document, so a name masked "
              "there has no earlier mention in the input to copy; fewer blanks reward copying.",
         "c": "Attention cannot look across the [SEP] token between the two segments."},
        "b",
        "Sentence order adds a loss just as NSP does, yet copies early: what differs is that both "
        "of its segments come from one document.",
        {"a": "sentence order adds a second loss of about the same size and copies early; and "
              "NSP's loss stays a fraction of the masked-word loss all along.",
         "c": "attention reaches every position, [SEP] included; sentence-order inputs have a "
              "[SEP] too and copy early."}),
))}
