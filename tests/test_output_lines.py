"""The output lines of predict and run (tinyml.output_lines): values as the shortest text of their float32
(null for NaN), time order with beats before windows before events, and the host assembling the same
lines from the device's frames (VALUES before or after SCORES; beat apps held and put in time order)."""

from __future__ import annotations

import struct
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from tinyml.device import link as L
from tinyml.device.runner import DeviceLines
from tinyml.errors import TinymlError
from tinyml.output_lines import BEAT, EVENT, WINDOW, LineMaker, in_time_order, value_json


def _manifest(values=(), beats=()):
    return SimpleNamespace(labels=["a", "b"], event_names=["a", "b", "brady"], values=list(values),
                           beat_labels=list(beats), rate=100.0)


def test_values_print_as_their_float32_and_nan_as_null():
    for v in (72.3456, 0.1, 1e-8, -3.25, 123456.78, 0.0):
        j = value_json(v)
        assert np.float32(j) == np.float32(v) and len(repr(j)) <= len(str(np.float32(v))) + 2
    assert value_json(np.float32(0.1)) == 0.1  # not 0.10000000149011612
    assert value_json(float("nan")) is None and value_json(np.inf) is None


def test_lines_and_their_order():
    mk = LineMaker(_manifest(["hr_bpm", "sqi"], ["N", "V"]), 1 / 256, -128)
    w = mk.window(250, np.array([-128, 127], np.int8), np.array([61.5, np.nan], np.float32))
    assert w == {"t": 2.5, "scores": {"a": 0.0, "b": 0.9961}, "values": {"hr_bpm": 61.5, "sqi": None}}
    assert mk.beat(249, 1) == {"t": 2.49, "beat": "V"} and mk.event(250, 1, 127) == {"t": 2.5, "event": "b", "score": 0.9961}
    assert mk.event(250, 2, 127)["event"] == "brady"  # [app] extra_events come after the labels
    items = [(250, EVENT, "e"), (250, WINDOW, "w"), (250, BEAT, "b1"), (120, BEAT, "b0"), (300, WINDOW, "w2")]
    assert in_time_order(items) == ["b0", "b1", "w", "e", "w2"]
    # an app without values has no "values" key
    assert "values" not in LineMaker(_manifest(), 1 / 256, -128).window(10, np.zeros(2, np.int8))


def _hello(values=0, beats=0):
    return L.Hello(L.VERSION, 1, 2, 4, 512, -128, 1 / 256, 100.0, values, beats, "x", "h", "host", "ns")


def _frames(values_first: bool):
    sc = L.Scores(250, np.array([-128, 127], np.int8))
    va = L.Values(250, np.array([61.5, 0.25], np.float32))
    return [va, sc] if values_first else [sc, va]


@pytest.mark.parametrize("values_first", [True, False])
def test_device_lines_merge_values_with_their_window(values_first):
    m = _manifest(["hr_bpm", "sqi"])
    dl = DeviceLines(m, _hello(2))
    out = [line for msg in _frames(values_first) for line in dl.feed(msg)]
    out += dl.feed(L.Event(250, 1, 127)) + dl.feed(L.Done(250, 3, 0, 0)) + dl.end()
    mk = LineMaker(m, 1 / 256, -128)
    assert out == [mk.window(250, [-128, 127], [61.5, 0.25]), mk.event(250, 1, 127)]


def test_device_lines_time_a_slow_rate_as_predict_does():
    """The hello carries the rate as float32: 1/900 Hz (a soil logger's 15 min) is not the manifest's 1/900, and
    sample 66 read 73799.998 s on the device for predict's 73800.0 (`run` and `predict` did not diff equal)."""
    m = SimpleNamespace(**{**vars(_manifest()), "rate": 1 / 900})
    hello = L.Hello(L.VERSION, 1, 2, 4, 512, -128, 1 / 256, float(np.float32(1 / 900)), 0, 0, "x", "h", "host", "ns")
    dl = DeviceLines(m, hello)
    out = dl.feed(L.Scores(82, np.array([0, 0], np.int8))) + dl.feed(L.Event(82, 0, 5))
    assert [x["t"] for x in out] == [73800.0, 73800.0]
    # a device whose rate is not the manifest's keeps its own clock
    other = L.Hello(L.VERSION, 1, 2, 4, 512, -128, 1 / 256, 50.0, 0, 0, "x", "h", "host", "ns")
    assert DeviceLines(_manifest(), other).feed(L.Event(100, 0, 5))[0]["t"] == 2.0


def test_device_lines_of_a_beat_app_come_out_in_time_order_at_the_end():
    m = _manifest(beats=["N", "V"])
    dl = DeviceLines(m, _hello(0, 2))
    msgs = [L.Scores(250, np.array([0, 0], np.int8)), L.Beat(240, 0), L.Event(250, 0, 5), L.Beat(251, 1),
            L.Scores(350, np.array([0, 0], np.int8)), L.Beat(300, 0)]
    assert [x for msg in msgs for x in dl.feed(msg)] == []  # held: a beat may arrive after later windows
    dl.feed(L.Done(400, 6, 0, 0))
    kind = lambda x: next(k for k in ("beat", "scores", "event") if k in x)  # noqa: E731
    assert [(x["t"], kind(x)) for x in dl.end()] == [
        (2.4, "beat"), (2.5, "scores"), (2.5, "event"), (2.51, "beat"), (3.0, "beat"), (3.5, "scores")]


def test_values_and_beat_frames_parse_and_malformed_ones_are_refused():
    p = struct.pack("<IB", 250, 2) + np.array([61.5, np.nan], "<f4").tobytes()
    v = L.parse(L.Frame(L.T.VALUES, p))
    assert v.t == 250 and v.values[0] == np.float32(61.5) and np.isnan(v.values[1]) and v.values.dtype == np.float32
    assert L.parse(L.Frame(L.T.BEAT, struct.pack("<IB", 7, 3))) == L.Beat(7, 3)
    for t, bad in ((L.T.VALUES, p[:-1]), (L.T.VALUES, p[:4]), (L.T.BEAT, b"\x01\x02")):
        with pytest.raises(TinymlError, match="malformed frame"):
            L.parse(L.Frame(t, bad))


def test_hello_carries_the_value_and_beat_label_counts():
    p = struct.pack("<BBBBHbBffB", L.VERSION, 1, 12, 4, 512, -128, 3, 1 / 256, 250.0, 4)
    p += b"".join(bytes([len(s)]) + s for s in (b"app", b"0123", b"qemu-m4", b"instructions"))
    h = L.parse(L.Frame(L.T.HELLO, p))
    assert (h.values, h.beat_labels, h.outputs, h.app_id, h.cost_unit) == (3, 4, 12, "app", "instructions")
    old = L.parse(L.Frame(L.T.HELLO, bytes([1]) + p[1:]))  # an older firmware: refused by its version
    assert old.version == 1


def test_a_multilabel_models_logits_print_as_probabilities():
    """[model] output = "multilabel": the int8 scores are logits; lines show sigmoid(logit), a probability."""
    m = _manifest()
    m.model = {"output": "multilabel"}
    mk = LineMaker(m, 0.05, 10)
    w = mk.window(100, np.array([10, 10 + 40], np.int8))  # logits 0 and 2
    assert w["scores"] == {"a": 0.5, "b": round(float(1 / (1 + np.exp(-2.0))), 4)}
    assert mk.event(100, 0, -128)["score"] == round(float(1 / (1 + np.exp(6.9))), 4)  # logit -6.9: not 0, not tied
    with warnings.catch_warnings():  # a logit below -88 (exp overflows): p = 0, and no RuntimeWarning on stderr
        warnings.simplefilter("error")
        assert LineMaker(m, 1.0, 0).window(0, np.array([-100, 0], np.int8))["scores"] == {"a": 0.0, "b": 0.5}
    assert LineMaker(m, 0.05, 10, offset_s=3600.0).seconds(100) == 3601.0  # a segment's start in its file
    m.model = {"output": "classes"}
    assert LineMaker(m, 0.05, 10).window(100, np.array([10, 30], np.int8))["scores"] == {"a": 0.0, "b": 1.0}
