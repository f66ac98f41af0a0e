"""Condition features on synthetic signals with known answers, and bad blocks refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bohsense.edge.features import (
    ISO_ZONES,
    Bearing,
    BlockFeatures,
    VibrationConfig,
    block_features,
    check_block,
    defect_frequencies,
    zone_of,
)
from bohsense.edge.features._vibration import G

FS = 25_600.0
BEARING = Bearing(9, 7.94, 39.04)  # a 6205-class deep-groove bearing (mm)


def velocity_sine(v_rms_mm_s: float, f: float, n: int, fs: float = FS, phase: float = 0.3) -> np.ndarray:
    """Acceleration (g) of a pure tone whose velocity RMS is ``v_rms_mm_s``."""
    t = np.arange(n) / fs
    v_peak = v_rms_mm_s / 1000.0 * math.sqrt(2)
    return v_peak * 2 * math.pi * f * np.cos(2 * math.pi * f * t + phase) / G


def features(x: np.ndarray, cfg: VibrationConfig, fs: float = FS) -> BlockFeatures:
    reason, y = check_block(x, fs, cfg)
    assert reason == "", reason
    assert y is not None
    return block_features(y, fs, cfg)


@pytest.mark.parametrize("n", [8192, 25_600])
@pytest.mark.parametrize("f", [17.0, 25.0, 50.0, 123.4, 317.7, 900.0, 990.0])
def test_a_pure_tone_gives_its_velocity_rms_within_2_percent(f: float, n: int) -> None:
    # 2 bins from the band's edges at least (the Hann main lobe): 6.25 Hz at 8192 samples
    got = features(velocity_sine(4.0, f, n), VibrationConfig(rpm=1500)).velocity_rms_mm_s
    assert got == pytest.approx(4.0, rel=0.02)


def test_a_tone_near_the_band_edge_is_exact_with_the_resolution_of_a_1_s_block() -> None:
    got = features(velocity_sine(4.0, 12.0, 25_600), VibrationConfig(rpm=1500)).velocity_rms_mm_s
    assert got == pytest.approx(4.0, rel=0.02)


@pytest.mark.parametrize("fs", [5_120.0, 12_800.0, 51_200.0])
def test_the_velocity_rms_holds_at_other_sample_rates(fs: float) -> None:
    n = int(fs)  # 1 s blocks
    for f in (30.0, 250.0, 800.0):
        got = features(velocity_sine(3.0, f, n, fs=fs), VibrationConfig(rpm=1500), fs=fs).velocity_rms_mm_s
        assert got == pytest.approx(3.0, rel=0.02), (fs, f)


def test_the_velocity_band_is_10_to_1000_hz() -> None:
    cfg = VibrationConfig(rpm=1500)
    assert features(velocity_sine(4.0, 3000.0, 25_600), cfg).velocity_rms_mm_s < 0.1
    assert features(velocity_sine(4.0, 4.0, 25_600), cfg).velocity_rms_mm_s < 0.2
    # two tones in the band add as RMS
    both = velocity_sine(3.0, 40.0, 25_600) + velocity_sine(4.0, 400.0, 25_600)
    assert features(both, cfg).velocity_rms_mm_s == pytest.approx(5.0, rel=0.02)


def test_acceleration_rms_peak_crest_factor_of_a_sine() -> None:
    t = np.arange(25_600) / FS
    x = 0.5 * np.sin(2 * math.pi * 160 * t) + 0.2  # an offset is removed first
    f = features(x, VibrationConfig())
    assert f.acc_rms_g == pytest.approx(0.5 / math.sqrt(2), rel=1e-3)
    assert f.acc_peak_g == pytest.approx(0.5, rel=1e-3)
    assert f.crest_factor == pytest.approx(math.sqrt(2), rel=1e-3)
    assert f.kurtosis == pytest.approx(1.5, rel=1e-2)


def test_kurtosis_of_gaussian_noise_is_about_3_and_of_impacts_far_above() -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0.0, 0.1, 25_600)
    assert features(noise, VibrationConfig()).kurtosis == pytest.approx(3.0, abs=0.15)
    impacts = noise.copy()
    k = np.arange(120)
    ring = 3.0 * np.exp(-k / 25_600 / 2e-4) * np.sin(2 * np.pi * 3200 * k / 25_600)
    for start in range(0, 25_600 - 120, 1000):  # impacts ringing a resonance, ~26 a second
        impacts[start : start + 120] += ring
    assert features(impacts, VibrationConfig()).kurtosis > 10


def test_band_energies_add_up_to_the_broad_band_rms() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 0.2, 25_600)
    f = features(x, VibrationConfig(band_edges_hz=(0.1, 1000.0, 5000.0, 12_800.0)))
    total = math.sqrt(sum(v * v for v in f.bands_g.values()))
    assert total == pytest.approx(f.acc_rms_g, rel=0.02)
    assert set(f.bands_g) == {(0.1, 1000.0), (1000.0, 5000.0), (5000.0, 12_800.0)}


@pytest.mark.parametrize("machine_class", list(ISO_ZONES))
def test_iso_zones_at_their_boundaries(machine_class: str) -> None:
    ab, bc, cd = ISO_ZONES[machine_class]
    assert zone_of(0.0, machine_class) == "A"
    assert zone_of(ab * 0.999, machine_class) == "A"
    assert zone_of(ab, machine_class) == "B", "a value at a boundary is in the higher zone"
    assert zone_of(bc * 0.999, machine_class) == "B"
    assert zone_of(bc, machine_class) == "C"
    assert zone_of(cd * 0.999, machine_class) == "C"
    assert zone_of(cd, machine_class) == "D"
    assert zone_of(1e6, machine_class) == "D"


def test_iso_table_values_and_the_zone_of_a_measured_tone() -> None:
    assert ISO_ZONES["group2-rigid"] == (1.4, 2.8, 4.5)
    assert ISO_ZONES["group1-flexible"] == (3.5, 7.1, 11.0)
    cfg = VibrationConfig(machine_class="group2-rigid", rpm=1500)
    assert features(velocity_sine(4.5 * 1.03, 50.0, 25_600), cfg).iso_zone == "D"
    assert features(velocity_sine(4.5 * 0.97, 50.0, 25_600), cfg).iso_zone == "C"
    assert features(velocity_sine(1.0, 50.0, 25_600), cfg).iso_zone == "A"
    with pytest.raises(ValueError, match="machine class"):
        zone_of(1.0, "group3")


def bearing_signal(kind: str | None, rpm: float, n: int = 25_600, seed: int = 3) -> np.ndarray:
    """1× shaft tone and noise; with ``kind``, impacts at that defect frequency (±0.2 ms
    jitter) ringing a 4 kHz resonance."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    x = 0.05 * np.sin(2 * math.pi * rpm / 60 * t) + rng.normal(0.0, 0.02, n)
    if kind is not None:
        fd = defect_frequencies(rpm / 60, BEARING)[kind]
        impulses = np.zeros(n)
        for k in range(int(t[-1] * fd) + 1):
            i = int((k / fd + rng.normal(0.0, 2e-4)) * FS)
            if 0 <= i < n:
                impulses[i] = 1.0
        ring = np.exp(-t[:400] * 1500) * np.sin(2 * math.pi * 4000 * t[:400])
        x = x + 0.1 * np.convolve(impulses, ring)[:n]
    return x


def test_envelope_energy_at_bpfo_stands_out_for_an_outer_race_fault_and_not_when_healthy() -> None:
    cfg = VibrationConfig(rpm=1797, bearing=BEARING, envelope_band_hz=(2000.0, 8000.0))
    healthy = features(bearing_signal(None, 1797), cfg).envelope_db
    outer = features(bearing_signal("bpfo", 1797), cfg).envelope_db
    inner = features(bearing_signal("bpfi", 1797), cfg).envelope_db
    assert set(healthy) == {"bpfo", "bpfi", "bsf", "ftf"}
    assert max(healthy.values()) < 10, healthy
    assert outer["bpfo"] > healthy["bpfo"] + 15, (outer, healthy)
    assert max(outer, key=outer.__getitem__) == "bpfo", outer
    assert max(inner, key=inner.__getitem__) == "bpfi", inner
    assert inner["bpfi"] > healthy["bpfi"] + 15


def test_defect_frequencies_of_a_known_bearing() -> None:
    # SKF 6205 at 1797 rpm (the CWRU drive end): BPFO 107.4 Hz, BPFI 162.2 Hz, FTF 11.9 Hz
    d = defect_frequencies(1797 / 60, BEARING)
    assert d["bpfo"] == pytest.approx(107.36, abs=0.1)
    assert d["bpfi"] == pytest.approx(162.19, abs=0.1)
    assert d["ftf"] == pytest.approx(11.93, abs=0.05)
    assert d["bsf"] == pytest.approx(70.58, abs=0.1)


def test_shaft_orders_with_the_speed_estimated_from_the_spectrum() -> None:
    fr = 24.7  # 1482 rpm, not on a bin
    x = (
        velocity_sine(3.0, fr, 25_600)
        + velocity_sine(1.5, 2 * fr, 25_600)
        + velocity_sine(0.5, 3 * fr, 25_600)
    )
    f = features(x, VibrationConfig(rpm_range=(600, 3000)))
    assert f.shaft_hz == pytest.approx(fr, abs=0.3)
    assert f.orders_mm_s["1x"] == pytest.approx(3.0, rel=0.03)
    assert f.orders_mm_s["2x"] == pytest.approx(1.5, rel=0.03)
    assert f.orders_mm_s["3x"] == pytest.approx(0.5, rel=0.05)
    assert f.orders_mm_s["harm_4_10x"] < 0.05
    # no tone in the range: no speed claimed, no orders
    rng = np.random.default_rng(0)
    assert features(rng.normal(0, 0.1, 25_600), VibrationConfig()).shaft_hz is None


def test_metric_names() -> None:
    f = features(bearing_signal("bpfo", 1797), VibrationConfig(rpm=1797, bearing=BEARING))
    names = set(f.metrics("vib_x"))
    assert {
        "vib_x_velocity_rms_mm_s", "vib_x_iso_zone", "vib_x_acc_rms_g", "vib_x_acc_peak_g",
        "vib_x_crest_factor", "vib_x_kurtosis", "vib_x_shaft_hz", "vib_x_1x_mm_s", "vib_x_2x_mm_s",
        "vib_x_3x_mm_s", "vib_x_harm_4_10x_mm_s", "vib_x_env_bpfo_db", "vib_x_env_bpfi_db",
        "vib_x_env_bsf_db", "vib_x_env_ftf_db", "vib_x_band_10_100hz_g", "vib_x_band_3000_10000hz_g",
    } <= names  # fmt: skip


GOOD = velocity_sine(2.0, 50.0, 8192)


@pytest.mark.parametrize(
    ("samples", "fs", "kwargs", "reason"),
    [
        ([], FS, {}, "empty_block"),
        (np.zeros((2, 4096)), FS, {}, "malformed_block"),
        (["a", "b"], FS, {}, "malformed_block"),
        (np.where(np.arange(8192) == 5, np.nan, GOOD), FS, {}, "non_finite"),
        (np.where(np.arange(8192) == 5, np.inf, GOOD), FS, {}, "non_finite"),
        (GOOD, 0.0, {}, "sample_rate_out_of_range"),
        (GOOD, float("nan"), {}, "sample_rate_out_of_range"),
        (GOOD, 1000.0, {}, "sample_rate_out_of_range"),
        (GOOD, 1e7, {}, "sample_rate_out_of_range"),
        (GOOD, "25600", {}, "sample_rate_out_of_range"),
        (GOOD[:100], FS, {}, "block_too_short"),
        (GOOD[:2000], FS, {}, "block_too_short"),  # 78 ms: no 10 Hz resolution
        (GOOD, FS, {"lost": True}, "block_incomplete"),
        (GOOD, FS, {"clipped": 3}, "clipped"),
        (np.full(8192, 0.37), FS, {}, "flat_signal"),
        (np.zeros(8192), FS, {}, "flat_signal"),
        (GOOD * 1e5, FS, {}, "out_of_range"),
    ],
)
def test_bad_blocks_are_sensor_faults_with_a_reason(
    samples: object, fs: object, kwargs: dict[str, object], reason: str
) -> None:
    got, x = check_block(samples, fs, VibrationConfig(), **kwargs)  # type: ignore[arg-type]
    assert (got, x) == (reason, None)


def test_the_configured_sample_rate_and_full_scale_are_held() -> None:
    cfg = VibrationConfig(sample_rate_hz=25_600, full_scale_g=16.0)
    assert check_block(GOOD, 25_600.0, cfg)[0] == ""
    assert check_block(GOOD, 25_700.0, cfg)[0] == ""  # within 1 %
    assert check_block(GOOD, 20_000.0, cfg)[0] == "sample_rate_mismatch"
    clipped = np.clip(GOOD * 500, -16.0, 16.0)
    assert check_block(clipped, 25_600.0, cfg)[0] == "clipped"


def test_a_bad_configuration_is_refused_with_its_key() -> None:
    with pytest.raises(ValueError, match="machine class"):
        VibrationConfig(machine_class="class-9")
    with pytest.raises(ValueError, match="rpm_range"):
        VibrationConfig(rpm_range=(3000, 600))
    with pytest.raises(ValueError, match="band_edges_hz"):
        VibrationConfig(band_edges_hz=(100.0, 10.0))
    with pytest.raises(ValueError, match="ball_d < pitch_d"):
        Bearing(9, 40.0, 39.0)


@settings(max_examples=300, deadline=None)
@given(
    samples=hnp.arrays(
        np.float64,
        st.integers(0, 12_000),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
    ),
    fs=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10**6)),
    lost=st.booleans(),
    clipped=st.integers(0, 5),
)
def test_arbitrary_blocks_never_crash_and_features_are_finite(
    samples: np.ndarray, fs: float, lost: bool, clipped: int
) -> None:
    cfg = VibrationConfig(bearing=BEARING)
    reason, x = check_block(samples, fs, cfg, lost=lost, clipped=clipped)
    if reason:
        assert x is None
        return
    assert x is not None
    f = block_features(x, float(fs), cfg)
    assert all(math.isfinite(v) for v in f.metrics("vib_x").values()), f
    assert f.iso_zone in "ABCD"


def test_single_sample_spikes_are_a_sensor_fault_but_ringing_impacts_are_not() -> None:
    import numpy as np

    from bohsense.edge.features._vibration import VibrationConfig, check_block

    fs, n = 25_600.0, 8192
    rng = np.random.default_rng(7)
    t = np.arange(n) / fs
    noise = 0.05 * rng.standard_normal(n)
    spiky = noise.copy()
    spiky[rng.integers(1, n - 1, 5)] += 8.0  # electrical spikes: one sample each
    assert check_block(spiky, fs, VibrationConfig())[0] == "spikes"
    # bearing impacts: the same peak, ringing a 3.2 kHz resonance down over ~1 ms
    impacts = noise.copy()
    for start in range(100, n - 200, 240):  # ~107 Hz, a defect frequency
        k = np.arange(200)
        impacts[start : start + 200] += 8.0 * np.exp(-k / fs / 2e-4) * np.sin(2 * np.pi * 3200 * k / fs)
    assert check_block(impacts, fs, VibrationConfig())[0] == ""
    # at 5.12 kHz (2.56 samples per cycle of a 2 kHz resonance) an impact is still no spike
    fs2 = 5120.0
    slow = 0.05 * rng.standard_normal(n)
    k = np.arange(60)
    slow[1000:1060] += 8.0 * np.exp(-k / fs2 / 1e-3) * np.sin(2 * np.pi * 2000 * k / fs2)
    assert check_block(slow, fs2, VibrationConfig())[0] == ""
    assert check_block(noise + np.sin(2 * np.pi * 30 * t), fs, VibrationConfig())[0] == ""
