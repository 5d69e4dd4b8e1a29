"""Longer run with periodic fill-in by class.

Environment: THREADS, PRESET, POV (preset overrides, JSON), OVR (training overrides, JSON),
MASKP, DROP=at,low and LOWFIRST=k,low (learning-rate schedules), MULT="value=0.25,..."
(per-parameter lr multipliers), NAMEBIAS (names masked first), COPYK (copy curriculum for the
first K steps), SEED, SAVE (directory for the trained model), WSD=share (constant lr, then a
linear decay over the last share of the steps), DUPE (the preset's dupe_factor: cuts of the
corpus into NSP pairs; session 4's DUPE=10 run cut each copy with its own RNG, before
`dupe_factor` existed, so its pairs differ from this one's).
"""

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

def hide(ids, positions, scheme, rng):
    """Hide the first n_predict of `positions` 80/10/10, as bertlab's mask_tokens does."""
    n_predict = min(scheme.max_predictions, max(1, round(len(ids) * scheme.mask_prob)))
    output = list(ids)
    labels = [bp.IGNORE_INDEX] * len(ids)
    for i in positions[:n_predict]:
        if rng.random() < 0.8:
            output[i] = scheme.mask_id
        elif rng.random() < 0.5:
            output[i] = scheme.random_ids[rng.randrange(len(scheme.random_ids))]
        labels[i] = ids[i]
    return bp.MaskedTokens(output, labels)


COPYK = int(os.environ.get("COPYK", "0"))
PHASE = {"copy": COPYK > 0}
if COPYK:
    CONTENT = set()
    _for_tok2 = bp.MaskingScheme.for_tokenizer.__func__

    def _ft2(cls, tokenizer, *a, **k):
        for word, i in tokenizer.vocab.items():
            if bp.word_class(word) in ("name", "town or venue", "animal", "food", "thing or place"):
                CONTENT.add(i)
        print("content ids", len(CONTENT), flush=True)
        return _for_tok2(cls, tokenizer, *a, **k)

    bp.MaskingScheme.for_tokenizer = classmethod(_ft2)
    _orig_mask = bp.mask_tokens

    def copy_mask(ids, scheme, rng):
        if not PHASE["copy"]:
            return _orig_mask(ids, scheme, rng)
        from collections import defaultdict
        where = defaultdict(list)
        for i, t in enumerate(ids):
            if t in CONTENT:
                where[t].append(i)
        candidates = []
        for t, pos in where.items():
            if len(pos) >= 2:
                rng.shuffle(pos)
                candidates += pos[1:]  # keep one occurrence visible
        rng.shuffle(candidates)
        if not candidates:
            return _orig_mask(ids, scheme, rng)
        return hide(ids, candidates, scheme, rng)

    bp.mask_tokens = copy_mask

BIAS = float(os.environ.get("NAMEBIAS", "0"))
if BIAS:
    from bertlab import lexicon as _lx
    NAME_IDS = set()
    _for_tok = bp.MaskingScheme.for_tokenizer.__func__

    def _ft(cls, tokenizer, *a, **k):
        for n in _lx.FEMALE_NAMES + _lx.MALE_NAMES:
            i = tokenizer.vocab.get(n.lower())
            if i is not None:
                NAME_IDS.add(i)
        return _for_tok(cls, tokenizer, *a, **k)

    bp.MaskingScheme.for_tokenizer = classmethod(_ft)

    def biased(ids, scheme, rng):
        candidates = [i for i, token in enumerate(ids) if token not in scheme.never_mask]
        rng.shuffle(candidates)
        candidates.sort(key=lambda i: 0 if ids[i] in NAME_IDS and rng.random() < BIAS else 1)
        return hide(ids, candidates, scheme, rng)

    bp.mask_tokens = biased

from lr_mult import MULT, multiplier
if MULT:
    def groups_with_mult(model, weight_decay):
        out = {}
        for name, p in model.named_parameters():
            out.setdefault((p.dim() >= 2, multiplier(name)), []).append(p)
        return [{"params": ps, "weight_decay": weight_decay if d else 0.0, "lr_mult": m}
                for (d, m), ps in out.items()]

    bp.adamw_param_groups = groups_with_mult
    _init = bp.Pretrainer.__init__

    def patched(self, *a, **k):
        _init(self, *a, **k)
        for i, g in enumerate(self.optimizer.param_groups):
            m = g.get("lr_mult", 1.0)
            g["initial_lr"] *= m
            g["lr"] *= m
            self.scheduler.base_lrs[i] *= m
        print("groups", [(len(g["params"]), g["lr_mult"], g["lr"]) for g in self.optimizer.param_groups], flush=True)

    bp.Pretrainer.__init__ = patched

LOWFIRST = os.environ.get("LOWFIRST")
if LOWFIRST:
    k_, low_ = LOWFIRST.split(",")
    k_, low_ = int(k_), float(low_)

    def low_first(step, warmup_steps, total_steps):
        if step < warmup_steps:
            return low_ * (step + 1) / warmup_steps
        if step < k_:
            return low_
        return max(0.0, (total_steps - step) / max(1, total_steps - k_))

    bp.linear_warmup_decay = low_first
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
WSD = os.environ.get("WSD")
if WSD:
    decay_share = float(WSD)

    def warmup_stable_decay(step, warmup_steps, total_steps):
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        decay_start = round(total_steps * (1 - decay_share))
        if step < decay_start:
            return 1.0
        return max(0.0, (total_steps - step) / max(1, total_steps - decay_start))

    bp.linear_warmup_decay = warmup_stable_decay
SEED = int(os.environ.get("SEED", "0"))
if os.environ.get("DUPE"):
    preset = dataclasses.replace(preset, dupe_factor=int(os.environ["DUPE"]))
data = prepare_data(preset, seed=SEED)
mp = float(os.environ.get("MASKP", "0.15"))
if mp != 0.15:
    data.train.scheme = dataclasses.replace(
        data.train.scheme, mask_prob=mp, max_predictions=int(mp * 64) + 1
    )
t0 = time.perf_counter()


def cb(trainer, rec):
    if COPYK and PHASE["copy"] and trainer.step >= COPYK:
        PHASE["copy"] = False
        print("copy phase over at step", trainer.step, flush=True)
    if isinstance(rec, EvalResult):
        m = trainer.model
        fr = fill_in_accuracy(m, data.tokenizer, blanks[:1000], held, preset.max_seq_length)
        bc = fr.by_class()
        recent = trainer.history.steps[-100:]
        train_nsp = sum(r.nsp_loss for r in recent) / len(recent)
        train_mlm = sum(r.mlm_loss for r in recent) / len(recent)
        print(
            f"train mlm/nsp loss {train_mlm:.3f}/{train_nsp:.3f} held-out {rec.mlm_loss:.3f}/{rec.nsp_loss:.3f}",
            flush=True,
        )
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


run = pretrain(preset, steps=steps, data=data, seed=SEED, progress=False, callbacks=[cb], **overrides)
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
