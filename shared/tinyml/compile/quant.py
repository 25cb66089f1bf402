"""Requantization constants computed exactly as TFLite/TFLM compute them at Prepare time.

Scales in a .tflite are float32; TFLM widens them to double before multiplying, so do we (Python floats
are doubles). Rounding is std::round (half away from zero).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import TinymlError

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def tfl_round(x: float) -> int:
    """std::round: half away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(m: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: m = q * 2^(shift-31) with q in [2^30, 2^31)."""
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    q_fixed = tfl_round(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if shift > 30:
        shift, q_fixed = 30, (1 << 31) - 1
    return int(q_fixed), int(shift)


def quantize_multiplier_greater_than_one(m: float) -> tuple[int, int]:
    """For m > 1 only (the caller checks it, as TFLM does): the left shift is then never negative."""
    return quantize_multiplier(m)


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    max_input_rescaled = (1.0 * ((1 << input_integer_bits) - 1) * (1 << (total_signed_bits - input_integer_bits))
                          / (1 << input_left_shift))
    return int(math.floor(max_input_rescaled))


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) of TFLM's int8 softmax (5 integer bits for the diff)."""
    bits = 5
    real = min(beta * input_scale * (1 << (31 - bits)), (1 << 31) - 1.0)
    if not real > 1.0:
        raise TinymlError(f"SOFTMAX: input scale {input_scale:g} is too small for the int8 softmax "
                          f"(beta x scale x 2^{31 - bits} = {real:g} must exceed 1; TFLM refuses it too)")
    mult, left_shift = quantize_multiplier_greater_than_one(real)
    diff_min = -calculate_input_radius(bits, left_shift)
    return mult, left_shift, diff_min


def logistic_params(input_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, input_range_radius) of TFLM's int8 logistic."""
    bits = 4
    real = float(input_scale) * float(1 << (31 - bits))
    q, left_shift = math.frexp(real)
    mult = tfl_round(q * (1 << 31))
    mult = ((mult + (1 << 31)) % (1 << 32)) - (1 << 31)  # static_cast<int32_t>
    return mult, left_shift, calculate_input_radius(bits, left_shift)


def activation_range(act: int, scale: float, zero_point: int, qmin: int = -128, qmax: int = 127) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: the float division is done in float32, as in TFLite."""
    s = np.float32(scale)

    def q(f: float) -> int:
        return zero_point + tfl_round(float(np.float32(f) / s))

    if act == 0:
        return qmin, qmax
    if act == 1:  # RELU
        return max(qmin, q(0.0)), qmax
    if act == 3:  # RELU6
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if act == 2:  # RELU_N1_TO_1
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise ValueError(act)


def mean_multiplier(input_scale: float, output_scale: float, n: int) -> tuple[int, int]:
    """Multiplier/shift of TFLM's integer MEAN over n elements (1/n folded into the multiplier)."""
    mult, shift = quantize_multiplier(float(input_scale) / float(output_scale))
    if n <= 0:
        return mult, shift
    s = min(n.bit_length() - 1, 32, 31 + shift)
    mult = int((mult << s) // n) if s >= 0 else int(mult // n)
    return mult, shift - s


def add_params(s1: float, s2: float, so: float, left_shift: int = 20) -> dict:
    """TFLM int8 ADD: inputs rescaled to twice the larger input scale, then to the output."""
    twice_max = 2.0 * float(np.float32(max(s1, s2)))
    m1, sh1 = quantize_multiplier(float(s1) / twice_max)
    m2, sh2 = quantize_multiplier(float(s2) / twice_max)
    mo, sho = quantize_multiplier(twice_max / (float(np.float32((1 << left_shift) * np.float32(so)))))
    return dict(in1_mult=m1, in1_shift=sh1, in2_mult=m2, in2_shift=sh2, out_mult=mo, out_shift=sho,
                left_shift=left_shift)


def multiply_by_quantized_multiplier(x: np.ndarray, m: int, shift: int) -> np.ndarray:
    """Vectorised reference of tml_requant (int64 numpy), used by tests."""
    x = np.asarray(x, dtype=np.int64)
    left = max(shift, 0)
    right = max(-shift, 0)
    x = ((x << left) + (1 << 31)) % (1 << 32) - (1 << 31)
    ab = x * m
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    v = ab + nudge
    hi = np.where(v < 0, -((-v) >> 31), v >> 31)
    hi = np.where((x == INT32_MIN) & (m == INT32_MIN), INT32_MAX, hi)
    mask = (1 << right) - 1
    rem = hi & mask
    thr = (mask >> 1) + (hi < 0)
    return (hi >> right) + (rem > thr)
