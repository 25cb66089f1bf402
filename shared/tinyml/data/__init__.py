"""Datasets: real public formats first, a physically grounded generator where data can't be had.

A dataset is a folder `datasets/<name>/` with a `dataset.py` that exports either
  load(path, *, rate, channels, **options) -> list[Recording]        (a real format), or
  generate(*, rate, channels, seed, progress, **options) -> list[Recording]   (a synthetic generator).
The manifest's [dataset] picks `name` (real loader) and `path`; with no path, `generator` stands in.
"""

from .splits import split_by_source, split_recordings, assert_disjoint, load_splits
from .fingerprint import data_sha256
from .source import build_dataset, dataset_module

__all__ = ["data_sha256", "split_by_source", "split_recordings", "assert_disjoint", "build_dataset", "dataset_module", "load_splits"]
