"""The course model: the BERT that chapters 05-07 study, shipped so nobody has to wait for it.

Teaching a small BERT to copy names and facts from elsewhere in a document takes about 8,000
steps (13 to 25 minutes on two CPU cores), longer than a chapter should make a learner wait. So the
package ships that model, made by the course's own command (`python -m bertlab.pretrain`; the
exact command is in its manifest): config.json, model.safetensors, vocab.txt, the full
log.jsonl of the run (every step's losses, every evaluation with fill-in per word class),
pretraining.json and manifest.json (command, seed, versions, machine, time, and the sha256 of
every file). `course_model()` checks those hashes before it loads anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

COURSE_MODEL_DIR = Path(__file__).resolve().parent / "checkpoints" / "tinyworld-bert"
MANIFEST = "manifest.json"


def sha256(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_digests(directory: str | Path) -> dict[str, str]:
    """The sha256 of every file directly in a run directory but the manifest (not checkpoint/)."""
    directory = Path(directory)
    return {path.name: sha256(path) for path in sorted(directory.iterdir())
            if path.is_file() and path.name != MANIFEST}


def code_commit() -> str:
    """The git commit the package was run from, with '-dirty' for uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("-dirty" if dirty.strip() else "")


def machine() -> dict[str, Any]:
    """What a run's speed and exact numbers depend on: CPU, cores, threads, OS."""
    import torch

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(terse=True),
            "device": "cuda" if torch.cuda.is_available() else "cpu"}


def write_manifest(directory: str | Path, command: list[str], *, seed: int,
                   wall_seconds: float, train_seconds: float, commit: str | None = None) -> Path:
    """Record how a finished run was made and the sha256 of each of its files.

    `commit` is the code the run started from (default: the checkout's commit now)."""
    import numpy
    import torch

    directory = Path(directory)
    manifest = {
        "command": " ".join(command),
        "argv": command[3:] if command[:3] == ["python", "-m", "bertlab.pretrain"] else command,
        "seed": seed,
        "commit": commit or code_commit(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "numpy": numpy.__version__},
        "machine": machine(),
        "files": file_digests(directory),
    }
    path = directory / MANIFEST
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return path


def read_manifest(directory: str | Path = COURSE_MODEL_DIR) -> dict[str, Any]:
    """The manifest of a run directory."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"no {MANIFEST} in {directory}: not a finished pretraining run")
    return json.loads(path.read_text(encoding="utf-8"))


def verify_manifest(directory: str | Path = COURSE_MODEL_DIR) -> dict[str, Any]:
    """Check every file of a run against its manifest's sha256; name any that differ."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    expected, found = manifest["files"], file_digests(directory)
    problems = [f"{name} is missing" for name in expected if name not in found]
    problems += [f"{name} differs from its manifest (sha256 {found[name][:12]}..., expected "
                 f"{expected[name][:12]}...)" for name in expected
                 if name in found and found[name] != expected[name]]
    problems += [f"{name} is not in the manifest" for name in found if name not in expected]
    if problems:
        raise ValueError(f"{directory} does not match {MANIFEST}: " + "; ".join(problems))
    return manifest


def course_model(directory: str | Path = COURSE_MODEL_DIR) -> tuple[Any, Any]:
    """The shipped course BERT and its tokenizer, checked against their manifest; no training."""
    from bertlab.model import BertForPreTraining
    from bertlab.tokenizer import BertTokenizer

    verify_manifest(directory)
    return BertForPreTraining.from_pretrained(directory), BertTokenizer.from_pretrained(directory)


def course_log(directory: str | Path = COURSE_MODEL_DIR) -> tuple[list[dict], list[dict]]:
    """The course run's log: every step's losses and every evaluation, as dicts, in order."""
    steps: list[dict] = []
    evals: list[dict] = []
    with (Path(directory) / "log.jsonl").open(encoding="utf-8") as file:
        for line in file:
            record = json.loads(line)
            (steps if record.pop("kind") == "step" else evals).append(record)
    return steps, evals
