import inspect

import numpy as np
import pytest

from tinyml.dsp import BLOCKS, REQUIRED, apply_chain, describe_chain, validate_params
from tinyml.dsp.magnitude import magnitude
from tinyml.dsp.stats import STAT_NAMES, stats
from tinyml.errors import TinymlError

# minimal parameters for blocks with required ones, and a suitable input per block
_REQ = {"resample": {"rate_out": 50.0}, "biquad": {"cutoff_hz": 10.0}, "envelope": {"cutoff_hz": 5.0},
        "band_envelope": {"band_hz": [5.0, 15.0], "cutoff_hz": 2.0}, "fft_band_power": {"bands": [[0, 5], [5, 50]]},
        "clip": {"lo": -1.0, "hi": 1.0}, "select": {"channels": [2, 0]}, "decimate": {"factor": 4},
        "kurtosis_band": {"bands": [[5, 15], [15, 40]]}, "harmonic_energies": {"base_hz": 5.0, "orders": [1.0, 2.0]},
        "concat": {"branches": [[{"block": "stats"}], [{"block": "detrend"}, {"block": "stats", "names": ["rms"]}]]}}


def _input(name, rng):
    if name in ("mel", "log", "dct", "harmonic_energies", "normalize"):
        return rng.exponential(size=(6, 65)).astype(np.float32)  # a 128-point power spectrogram
    if name == "block_summary":
        return rng.standard_normal((130, 3)).astype(np.float32)  # 2 samples of history + 32 blocks of 4
    return rng.standard_normal((128, 3)).astype(np.float32) * 100


def test_every_block_is_well_formed():
    assert {"magnitude", "biquad", "stats", "window", "fft_band_power", "mfcc", "mel", "dct", "log"} <= set(BLOCKS)
    for name, b in BLOCKS.items():
        assert b.name == name and isinstance(b.version, int) and b.version >= 1
        assert b.numeric in ("float32", "int")
        assert callable(b.fn) and callable(b.apply) and b.doc
        apply_args = list(inspect.signature(b.apply).parameters)[2:]
        assert sorted(apply_args) == sorted(b.params), name  # schema and apply agree
        for p, (types, default, doc) in b.params.items():
            assert isinstance(doc, str) and doc, (name, p)
            assert (default is REQUIRED) == (p in _REQ.get(name, {})), (name, p)
        # the defaults of optional params pass their own schema and fill in
        assert set(validate_params(name, _REQ.get(name, {}))) == set(b.params)
        assert inspect.getmodule(b.fn).__doc__, name


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_apply_returns_2d(name):
    rng = np.random.default_rng(0)
    x = _input(name, rng)
    params = validate_params(name, _REQ.get(name, {}))
    y = BLOCKS[name].apply(x, 100.0 if name not in ("mel", "mfcc") else 16000.0, **params)
    assert y.ndim == 2 and y.shape[0] >= 1 and np.all(np.isfinite(y)), (name, y.shape)


def test_validate_params_messages():
    with pytest.raises(TinymlError, match="unknown DSP block 'fft'; available: .*biquad"):
        validate_params("fft", {})
    with pytest.raises(TinymlError, match="'biquad': unknown parameter 'cutoff'; allowed: kind, cutoff_hz, order"):
        validate_params("biquad", {"cutoff": 5})
    with pytest.raises(TinymlError, match="'biquad': parameter 'cutoff_hz' is required"):
        validate_params("biquad", {"kind": "lowpass"})
    with pytest.raises(TinymlError, match="'biquad': parameter 'order' must be an integer, got 2.5"):
        validate_params("biquad", {"cutoff_hz": 5, "order": 2.5})
    with pytest.raises(TinymlError, match="'biquad': parameter 'order' must be an integer, got True"):
        validate_params("biquad", {"cutoff_hz": 5, "order": True})
    with pytest.raises(TinymlError, match="'biquad': parameter 'kind' value 'notch' not allowed; allowed: lowpass"):
        validate_params("biquad", {"cutoff_hz": 5, "kind": "notch"})
    with pytest.raises(TinymlError, match="'stats': parameter 'names' value 'median' not allowed"):
        validate_params("stats", {"names": ["mean", "median"]})
    p = validate_params("biquad", {"block": "biquad", "append": True, "cutoff_hz": [1, 5], "kind": "bandpass"})
    assert p == {"kind": "bandpass", "cutoff_hz": [1, 5], "order": 2}
    assert validate_params("stats", {})["names"] == list(STAT_NAMES)


def test_chain_with_append_and_stats():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 3)).astype(np.float32)
    y = apply_chain(x, 100.0, [{"block": "magnitude", "append": True}, {"block": "stats", "names": ["mean", "rms"]}])
    assert y.shape == (1, 8)
    full = np.concatenate([x, magnitude(x)[:, None]], axis=1)
    np.testing.assert_array_equal(y[0], stats(full, ["mean", "rms"]).reshape(-1))  # channel-major
    with pytest.raises(TinymlError, match="append=true: output has 1 rows, input 200"):
        apply_chain(x, 100.0, [{"block": "stats", "append": True}])
    with pytest.raises(TinymlError, match=r"chain\[1\] \(magnitude\): append must be true or false"):
        apply_chain(x, 100.0, [{"block": "window"}, {"block": "magnitude", "append": "yes"}])


def test_chain_tracks_rate_through_resample():
    t = np.arange(400) / 200.0
    x = np.sin(2 * np.pi * 20.0 * t)[:, None].astype(np.float32)
    # after resampling to 100 Hz the 20 Hz tone sits in [15, 25) Hz of a 100 Hz rate
    y = apply_chain(x, 200.0, [{"block": "resample", "rate_out": 100.0},
                                {"block": "fft_band_power", "bands": [[0, 15], [15, 25], [25, 50]]}])
    assert y.shape == (1, 3) and np.argmax(y[0]) == 1


def test_describe_chain_is_canonical():
    d = describe_chain([{"block": "mfcc", "length": 480, "hop": 320, "n_fft": 512}])
    assert d[0]["version"] == BLOCKS["mfcc"].version and d[0]["append"] is False
    assert d[0]["params"]["n_mfcc"] == 13 and d[0]["params"]["n_fft"] == 512
    with pytest.raises(TinymlError, match=r"features.chain\[0\]"):
        describe_chain([{"name": "mfcc"}])
