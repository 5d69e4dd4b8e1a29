"""Per-parameter learning-rate multipliers for the notes' experiment scripts.

MULT="value=0.25,query=4" in the environment: a parameter whose name contains a key gets that
key's multiplier (the last matching key wins), every other parameter 1.0.
"""

import os

MULT = {k: float(v) for k, v in (kv.split("=") for kv in os.environ.get("MULT", "").split(",") if kv)}


def multiplier(name: str) -> float:
    """The learning-rate multiplier of the parameter called `name`."""
    mult = 1.0
    for key, value in MULT.items():
        if key in name:
            mult = value
    return mult
