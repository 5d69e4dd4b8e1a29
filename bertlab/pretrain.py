"""`python -m bertlab.pretrain`: pretrain a BERT from the command line, alone or under torchrun.

    python -m bertlab.pretrain --output-dir artifacts/tinybert
    python -m bertlab.pretrain --corpus my_text.txt --preset tiny --steps 500 --output-dir out
    python -m bertlab.pretrain --output-dir out --resume          # continue a stopped run
    python -m bertlab.pretrain --preset long --eval-every 250 --weights-dtype float16 \
        --output-dir artifacts/course-model                     # how the course model was made
    python -m bertlab.pretrain --output-dir out --overwrite       # start that run over
    torchrun --nproc-per-node 2 -m bertlab.pretrain --output-dir out   # DistributedDataParallel

Under torchrun every process builds the same data from the same seed and takes its share of
each global batch (gloo on CPU, nccl on GPU); the update equals one process's on the whole
batch. The output directory holds config.json, model.safetensors and vocab.txt (loadable by
bertlab and transformers), pretraining.json with the final scores, log.jsonl with every step
and evaluation, manifest.json (the command, versions, machine, time and the sha256 of every
file) and checkpoint/ to resume. A directory that holds a run already needs --resume (which
refuses flags that contradict the saved run; flags left out are the saved run's) or --overwrite.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from bertlab.course_model import write_manifest
from bertlab.pretraining import PRESETS, EvalResult, StepLog, pretrain

WEIGHT_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line: corpus, size preset, steps, output directory, resume."""
    parser = argparse.ArgumentParser(
        prog="python -m bertlab.pretrain",
        description="MLM + NSP pretraining of a small BERT (also under torchrun).",
    )
    parser.add_argument("--corpus", default=None,
                        help="'tinyworld' (default) or a text file in BERT format: one sentence "
                             "per line, a blank line between documents")
    parser.add_argument("--preset", default=None, choices=sorted(PRESETS),
                        help="model size and training budget (default: default)")
    parser.add_argument("--steps", type=int, default=None,
                        help="optimizer steps (default: the preset's)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="sequences per step over all processes (default: the preset's)")
    parser.add_argument("--accumulation-steps", type=int, default=None,
                        help="split each process's share of a batch into this many passes "
                             "(default: 1)")
    parser.add_argument("--eval-every", type=int, default=None,
                        help="evaluate on held-out text every N steps (0: only at the end)")
    parser.add_argument("--checkpoint-every", type=int, default=None,
                        help="save a checkpoint every N steps (always at the end and on Ctrl-C)")
    parser.add_argument("--stop-after", type=int, default=None, metavar="STEP",
                        help="stop after this step of the schedule and save a checkpoint "
                             "(finish later with --resume)")
    parser.add_argument("--weights-dtype", default="float32", choices=sorted(WEIGHT_DTYPES),
                        help="how the finished model's weights are stored (float16 halves the "
                             "file; its held-out scores are measured again after rounding)")
    parser.add_argument("--seed", type=int, default=None, help="(default: 0)")
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUTPUT_DIR/checkpoint if there is one")
    parser.add_argument("--overwrite", action="store_true",
                        help="start over, replacing the run already in OUTPUT_DIR")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    parser.add_argument("--log-file", default="log.jsonl",
                        help="per-step losses and evaluations, written in OUTPUT_DIR")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    for name in ("steps", "batch_size", "accumulation_steps", "stop_after"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    if args.resume and args.overwrite:
        parser.error("--resume continues the run in OUTPUT_DIR, --overwrite replaces it: "
                     "choose one")
    return args


class JsonLog:
    """A callback that appends every step and evaluation to a JSON-lines file, each step once.

    The file is opened at once, so a path that cannot be written fails before training. A
    resumed run redoes the steps after its checkpoint: their old records are dropped first.
    """

    def __init__(self, path: Path, start_over: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.file = path.open("w" if start_over else "a", encoding="utf-8")
        self.trimmed = False

    def _drop_records_from(self, step: int) -> None:
        """Keep only the records before `step` (and no line a crash cut short)."""
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("step", 0) < step:
                    kept.append(line + "\n")
            except json.JSONDecodeError:
                pass
        self.file.close()
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text("".join(kept), encoding="utf-8")
        os.replace(partial, self.path)
        self.file = self.path.open("a", encoding="utf-8")

    def __call__(self, trainer: object, record: StepLog | EvalResult) -> None:
        if not self.trimmed:
            self._drop_records_from(record.step)
            self.trimmed = True
        kind = "step" if isinstance(record, StepLog) else "eval"
        self.file.write(json.dumps({"kind": kind, **record.__dict__}) + "\n")
        self.file.flush()


def _setup_distributed(device: str | None) -> tuple[str | None, int]:
    """Join the torchrun job when there is one; return the device to use and this rank."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return device, 0
    distributed = torch.distributed
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    distributed.init_process_group("nccl" if use_cuda else "gloo")
    return device or "cpu", distributed.get_rank()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; 0 when training finished, 130 when it was interrupted."""
    args = parse_args(argv)
    device, rank = _setup_distributed(args.device)
    overrides = {name: getattr(args, name) for name in
                 ("batch_size", "accumulation_steps", "eval_every", "checkpoint_every")
                 if getattr(args, name) is not None}
    log_file = args.output_dir / args.log_file
    if not (args.resume or args.overwrite) and log_file.is_file() and log_file.stat().st_size:
        raise FileExistsError(f"{log_file} holds the log of an earlier run: --resume continues "
                              "that run, --overwrite starts over")
    callbacks = [JsonLog(log_file, start_over=args.overwrite)] if rank == 0 else []
    started = time.perf_counter()
    try:
        run = pretrain(
            args.preset,
            args.output_dir,
            steps=args.steps,
            corpus=args.corpus,
            seed=args.seed,
            resume=args.resume,
            overwrite=args.overwrite,
            callbacks=callbacks,
            progress=not args.no_progress,
            device=device,
            until=args.stop_after,
            weights_dtype=WEIGHT_DTYPES[args.weights_dtype],
            **overrides,
        )
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    if run.trainer.interrupted:
        return 130
    if not run.finished:
        if rank == 0:
            print(f"Stopped after step {run.trainer.step} of {run.trainer.config.steps} as asked; "
                  "continue with --resume.")
        return 0
    if rank == 0:
        argv = list(sys.argv[1:] if argv is None else argv)
        write_manifest(args.output_dir, ["python", "-m", "bertlab.pretrain", *argv],
                       seed=run.trainer.config.seed, wall_seconds=time.perf_counter() - started,
                       train_seconds=run.trainer.seconds)
    if rank == 0 and run.history.evals:
        last = run.history.evals[-1]
        print(f"step {last.step}: held-out masked-token accuracy {last.mlm_accuracy:.3f}, "
              f"NSP accuracy {last.nsp_accuracy:.3f}; saved to {args.output_dir} "
              f"in {run.seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
