"""The fingerprint of a dataset as drawn: what a run trained and tested on, so that `tinyml eval` can tell
when the data changed since (a fixed generator, another folder)."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from ..recording import Recording


def data_sha256(recs: list[Recording]) -> str:
    """A fingerprint of the data a run trained and tested on: every recording's samples, rate, labels and
    split keys, in order (two runs that agree here saw the same data)."""
    h = hashlib.sha256()
    for r in recs:
        h.update(json.dumps([r.rate, list(r.channels), r.subject, r.label, r.activity,
                             [[float(t), lab] for t, lab in r.events], r.split]).encode())
        h.update(np.ascontiguousarray(r.signal, np.float32).tobytes())
    return h.hexdigest()
