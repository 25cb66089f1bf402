"""tinyml.data.household: household sounds for audio training (each kind's physics shows in its spectrum)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml.data.household import SOUND_KINDS, sound
from tinyml.errors import TinymlError

RATE = 16000


def _share_of_power(x, lo, hi):
    P = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    return float(P[(f >= lo) & (f < hi)].sum() / P.sum())


@pytest.mark.parametrize("kind", SOUND_KINDS)
def test_each_kind_is_unit_rms_finite_and_reproducible(kind):
    a = sound(kind, RATE, RATE, np.random.default_rng(3))
    b = sound(kind, RATE, RATE, np.random.default_rng(3))
    assert a.dtype == np.float32 and a.shape == (RATE,)
    assert np.isfinite(a).all()
    assert np.sqrt(np.mean(a.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sound(kind, RATE, RATE, np.random.default_rng(4)))


def test_the_kinds_sit_where_their_physics_puts_them():
    """Knocks and footsteps are low thumps, dishes ring high modes, a tap's bubbles sit at 1-5 kHz, a voice's
    energy is in its formants (below 4 kHz). Medians over 20 draws: fails if a kind's maker is swapped."""
    rng = np.random.default_rng(0)

    def median_share(kind, lo, hi):
        return float(np.median([_share_of_power(sound(kind, RATE, RATE, rng), lo, hi) for _ in range(20)]))

    assert median_share("knock", 0, 500) > 0.6
    assert median_share("clatter", 1000, 8000) > 0.8
    assert median_share("water", 800, 6000) > 0.6
    assert median_share("vocal", 60, 4000) > 0.8
    assert median_share("clatter", 0, 500) < median_share("knock", 0, 500)


def test_an_unknown_kind_or_no_samples_is_a_clear_error():
    with pytest.raises(TinymlError, match="unknown household sound 'blender'.*clatter"):
        sound("blender", RATE, RATE, np.random.default_rng(0))
    with pytest.raises(TinymlError, match="0 samples"):
        sound("water", 0, RATE, np.random.default_rng(0))
