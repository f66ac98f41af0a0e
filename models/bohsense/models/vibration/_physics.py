"""Bearing defect frequencies from the geometry, and the command line's geometry format."""

from __future__ import annotations

import math

from bohsense.models.errors import InputError

__all__ = ["defect_frequencies", "parse_bearing"]


def defect_frequencies(
    rpm: float, n_balls: int, ball_d: float, pitch_d: float, contact_deg: float = 0.0
) -> dict[str, float]:
    """Shaft speed and defect frequencies (Hz) of a rolling bearing with a fixed outer race.

    ``bsf`` is the ball spin frequency; a ball defect strikes both races once per spin,
    so its impacts repeat at ``2 * bsf`` (the figure bearing tables often call BSF)."""
    fr = rpm / 60.0
    r = ball_d / pitch_d * math.cos(math.radians(contact_deg))
    return {
        "shaft": fr,
        "ftf": fr / 2 * (1 - r),
        "bpfo": n_balls / 2 * fr * (1 - r),
        "bpfi": n_balls / 2 * fr * (1 + r),
        "bsf": pitch_d / (2 * ball_d) * fr * (1 - r * r),
    }


def parse_bearing(text: str) -> tuple[int, float, float, float]:
    """``N_BALLS,BALL_DIAMETER,PITCH_DIAMETER[,CONTACT_ANGLE_DEG]`` checked for sense."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise InputError(
            f"--bearing wants N_BALLS,BALL_DIAMETER,PITCH_DIAMETER[,CONTACT_ANGLE_DEG], got {text!r}"
        )
    try:
        n = int(parts[0])
        d, pd = float(parts[1]), float(parts[2])
        angle = float(parts[3]) if len(parts) == 4 else 0.0
    except ValueError:
        raise InputError(f"--bearing: {text!r} holds a value that is not a number") from None
    if not 3 <= n <= 100:
        raise InputError(f"--bearing: number of balls {n} is outside 3..100")
    if not (math.isfinite(d) and math.isfinite(pd) and 0 < d < pd):
        raise InputError(f"--bearing: need 0 < ball diameter < pitch diameter, got {d} and {pd}")
    if not 0 <= angle < 90:
        raise InputError(f"--bearing: contact angle {angle} is outside 0..90 degrees")
    return n, d, pd, angle
