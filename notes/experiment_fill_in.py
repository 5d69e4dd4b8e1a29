"""Longer run with periodic fill-in by class."""

import sys, time, json, os
import torch

torch.set_num_threads(int(os.environ.get("THREADS", "1")))
from bertlab.corpus import generate_corpus
from bertlab.ngram import NgramFillIn, fill_in_benchmark, HELD_OUT
from bertlab.pretraining import (
    pretrain,
    fill_in_accuracy,
    FillInResult,
    get_preset,
    prepare_data,
    PRESETS,
    Preset,
    EvalResult,
)
import dataclasses

steps = int(sys.argv[1])
base = PRESETS[os.environ.get("PRESET", "default")]
pov = json.loads(os.environ.get("POV", "{}"))
preset = dataclasses.replace(base, **pov)
overrides = json.loads(os.environ.get("OVR", "{}"))
world = generate_corpus()
train, blanks = fill_in_benchmark(world)
held = world.split(HELD_OUT)[1].as_documents()
ng = NgramFillIn().fit(train.as_documents())
ngr = FillInResult(blanks, [ng.predict(b.words, b.position) for b in blanks])
print("ngram", round(ngr.accuracy, 3), flush=True)
import bertlab.pretraining as bp

DROP = os.environ.get("DROP")
if DROP:
    at, low = DROP.split(",")
    at, low = int(at), float(low)

    def two_phase(step, warmup_steps, total_steps):
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if step < at:
            return 1.0
        return low * max(0.0, (total_steps - step) / max(1, total_steps - at)) ** 0.3

    bp.linear_warmup_decay = two_phase
data = prepare_data(preset)
mp = float(os.environ.get("MASKP", "0.15"))
if mp != 0.15:
    data.train.scheme = dataclasses.replace(
        data.train.scheme, mask_prob=mp, max_predictions=int(mp * 64) + 1
    )
t0 = time.perf_counter()


def cb(trainer, rec):
    if isinstance(rec, EvalResult):
        m = trainer.model
        fr = fill_in_accuracy(m, data.tokenizer, blanks[:1000], held, preset.max_seq_length)
        bc = fr.by_class()
        print(
            f"step {rec.step} t {time.perf_counter() - t0:.0f} mlm {rec.mlm_accuracy:.3f} nsp {rec.nsp_accuracy:.3f} fill {fr.accuracy:.3f}",
            {
                k: round(bc[k][1], 2)
                for k in ("name", "food", "thing or place", "function word", "adjective")
                if k in bc
            },
            flush=True,
        )
        m.train()


run = pretrain(preset, steps=steps, data=data, progress=False, callbacks=[cb], **overrides)
if os.environ.get("SAVE"):
    run.model.save_pretrained(os.environ["SAVE"], tokenizer=run.tokenizer)
fr = fill_in_accuracy(run.model, run.tokenizer, blanks, held, preset.max_seq_length)
print(
    "FINAL bert",
    round(fr.accuracy, 3),
    "ngram",
    round(ngr.accuracy, 3),
    "time",
    round(run.seconds),
    {k: (n, round(a, 2)) for k, (n, a) in fr.by_class().items()},
)
