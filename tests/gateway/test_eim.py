"""Every app as an Edge Impulse Linux model (.eim), driven by Edge Impulse's own SDK (edge-impulse-linux, pinned):
ImpulseRunner with shared memory (the SDK's default) and without, AudioImpulseRunner for audio apps with a WAV
fed as its microphone would be. The scores, values and events equal `tinyml predict`'s for the same windows."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

from apptest import APPS
from eimtest import FIXTURES, any_app, as_features, assert_same_result, demo_signal, eim_for, exact_scores, predicted, start
from tinyml.gateway.eim import eim_spec, sensor_code

pytestmark = [pytest.mark.xdist_group("eim")]


@pytest.fixture(params=[*APPS, *FIXTURES])
def app(request):
    """Every app, and the test-only apps with [app] values, beats and a second model."""
    return any_app(request.param)


def windows_of(sig: np.ndarray, window: int, n: int = 3) -> list[np.ndarray]:
    """n windows spread over the demo (the last one ends at its end)."""
    starts = np.linspace(0, len(sig) - window, n).astype(int)
    return [sig[s : s + window] for s in starts]


def test_hello_and_print_info_describe_the_app(app):
    path = eim_for(app)
    assert os.stat(path).st_mode & 0o777 == 0o755
    info = json.loads(subprocess.run([str(path), "--print-info"], capture_output=True, text=True, timeout=30,
                                     check=True).stdout)
    p = info["model_parameters"]
    m = app.manifest
    assert p["labels"] == m.labels and p["label_count"] == len(m.labels)
    assert p["axis_count"] == len(m.channels) and p["frequency"] == m.rate
    assert p["input_features_count"] == int(m.features["window"]) * len(m.channels)
    assert p["sensor"] == sensor_code(m.signal["sensor"]) and p["model_type"] == "classification"
    assert p["has_anomaly"] == (1 if eim_spec(app).anomaly_value >= 0 else 0)
    assert [t["name"] for t in p["thresholds"]] == list(eim_spec(app).thresholds)
    assert info["project"]["name"] == app.id and info["project"]["feature_hash"] == m.feature_hash()


@pytest.mark.parametrize("shm", [True, False], ids=["shm", "json"])
def test_sdk_scores_equal_predict_for_the_same_windows(app, shm, tmp_path):
    from edge_impulse_linux.runner import ImpulseRunner

    runner = ImpulseRunner(str(eim_for(app)), allow_shm=shm)
    try:
        info = start(runner)
        assert ("features_shm" in info) and (runner._input_shm is not None) == shm
        sig = demo_signal(app)
        for w in windows_of(sig, int(app.manifest.features["window"])):
            features, samples = as_features(app, w)
            res = runner.classify(features)
            assert_same_result(app, res["result"], predicted(app, samples, tmp_path))
            got = np.array([res["result"]["classification"][lab] for lab in app.manifest.labels], np.float32)
            want = exact_scores(app, samples)
            if eim_spec(app).multilabel:  # sigmoid: numpy's float32 exp and the C library's expf differ by an ulp
                np.testing.assert_array_max_ulp(got, want, maxulp=1)
            else:
                np.testing.assert_array_equal(got, want)
            assert res["timing"]["classification"] >= 0 and res["info"]["windows"] >= 1
    finally:
        runner.stop()


def test_set_threshold_changes_the_events_as_predict_set_does(app, tmp_path):
    from edge_impulse_linux.runner import ImpulseRunner

    spec = eim_spec(app)
    if not spec.thresholds:
        pytest.skip(f"{app.id} has no [postprocess] threshold")
    runner = ImpulseRunner(str(eim_for(app)))
    try:
        start(runner)
        name = next(iter(spec.thresholds))
        sig = demo_signal(app)
        w = windows_of(sig, int(app.manifest.features["window"]), 1)[0]
        features, samples = as_features(app, w)
        for value in (0.05, 0.95):
            assert runner.set_threshold({"id": 0, "min_score": value}) == {}
            hello = runner.hello()["model_parameters"]["thresholds"][0]
            assert hello["name"] == name and np.float32(hello["min_score"]) == np.float32(value)
            res = runner.classify(features)["result"]
            assert_same_result(app, res, predicted(app, samples, tmp_path, overrides=[f"postprocess.{name}={value}"]))
        with pytest.raises(Exception, match="no threshold with that"):
            runner.set_threshold({"id": 99, "min_score": 0.5})
        with pytest.raises(Exception, match=r"must be a number in \[0, 1\]"):
            runner.set_threshold({"id": 0, "min_score": 7})
    finally:
        runner.stop()


class EndOfRecording(Exception):
    pass


def test_audio_runner_hears_a_wav_as_its_microphone(app, monkeypatch, tmp_path):
    """AudioImpulseRunner.classifier(): the SDK's own loop over microphone chunks (int16, 1024 samples), windows
    every quarter window; the microphone is the app's demo WAV."""
    from edge_impulse_linux import audio

    if sensor_code(app.manifest.signal["sensor"]) != 1:
        pytest.skip(f"{app.id} is not an audio app")
    sig = demo_signal(app)
    spec = eim_spec(app)
    pcm = np.clip(np.round(sig[:, 0] * spec.divisor), -32768, 32767).astype(np.int16)

    class WavMicrophone:
        def __init__(self, rate, chunk_size, device_id=None, channels=1):
            assert rate == app.manifest.rate and channels == 1
            self.chunk = chunk_size

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def generator(self):
            for i in range(0, len(pcm) - self.chunk + 1, self.chunk):
                yield pcm[i : i + self.chunk].tobytes()
            raise EndOfRecording

    monkeypatch.setattr(audio, "Microphone", WavMicrophone)
    runner = audio.AudioImpulseRunner(str(eim_for(app)))
    try:
        start(runner)
        assert runner.window_size == spec.window and runner.sampling_rate == app.manifest.rate
        step = int(runner.window_size * audio.OVERLAP)
        results = []
        with runner:
            with pytest.raises(EndOfRecording):
                for res, _chunk in runner.classifier():
                    results.append(res["result"])
        fed = (len(pcm) // audio.CHUNK_SIZE) * audio.CHUNK_SIZE
        assert len(results) == (fed - spec.window) // step + 1 >= 2
        for k in (0, len(results) // 2, len(results) - 1):
            samples = (pcm[k * step : k * step + spec.window].astype(np.float32) / np.float32(spec.divisor))[:, None]
            assert_same_result(app, results[k], predicted(app, samples, tmp_path))
    finally:
        runner.stop()


def test_stop_leaves_no_socket_or_shared_memory(app):
    from edge_impulse_linux.runner import ImpulseRunner

    runner = ImpulseRunner(str(eim_for(app)))
    info = start(runner)
    shm = "/dev/shm/" + info["features_shm"]["name"].lstrip("/")
    assert os.path.exists(shm)
    proc = runner._runner
    runner.stop()
    assert proc.wait(timeout=30) == 0
    assert not os.path.exists(shm)


def test_unit_checks_leave_room_for_a_fault_but_not_for_the_smallest_unit_mistake():
    """The .eim's magnitude limit lies above typical_magnitude's top (a fault reading somewhat above it is scored:
    soil's vwc up to where its axis is far outside its range) and below the smallest unit mistake: gravity in m/s²
    (9.8) for an app in g; int16 audio has no unit checks
    (its samples cannot carry another unit)."""
    from tinyml.apps import load_app

    for app_id in APPS:
        a = load_app(app_id)
        if a.manifest.unit_of(a.manifest.channels[0]) == "g":  # gravity (1 g) in m/s² stays refused
            assert eim_spec(a).typical_top < eim_spec(a).magnitude_max < 9.8, app_id
    soil = eim_spec(load_app("soil-monitoring"))
    assert soil.magnitude_max > soil.limits[0][1] and soil.ranges[0] == (-0.3, 1.0)
    audio = eim_spec(load_app("keyword-spotting"))
    assert audio.magnitude_max == 0.0 and all(np.isinf(lo) and np.isinf(hi) for lo, hi in audio.limits)
