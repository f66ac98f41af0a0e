"""``bohsense bench shelf``: shelf frames decoded and lanes estimated per second on one core,
against decoding alone of the same bytes, in the same run.

The stream is what one shelf sends: SAMPLES frames (synced clock, one grams value per
lane) of a ``ShelfDevice`` with ``lanes`` lanes at 10 Hz, its physics on (noise, spread,
shoppers picking with ringing and pressing hands), ``seconds`` of it, encoded with the
protocol core exactly as the device encodes them, plus its heartbeats. Two pipelines, in
alternating rounds (best of each: the least disturbed run on a shared core):

- **decode only**: ``FrameDecoder.feed`` (COBS, CRC, message parse) — the floor;
- **gateway**: the same decoding, then ``SerialSession.on_frame`` (seq tracking, clock
  conversion, one ``ChannelSample`` per lane value) and the ``LaneInterpreter`` (windows,
  snapping, conditions, events) — everything the serial driver does per frame but the
  port's read and the sink.

Headroom: a lane at 10 Hz is 10 lane samples a second, so ``lanes_per_core`` is the
gateway's lane samples per second / 10; a store has hundreds of lanes.
"""

from __future__ import annotations

import time
from typing import Any

from bohsense.bench._shelf_run import EPOCH_NS, VirtualClock
from bohsense.edge.drivers._serial_session import SerialSession, SessionConfig
from bohsense.edge.interpreters import LaneConfig, LaneInterpreter, StabilityConfig
from bohsense.firmware_bridge import (
    Frame,
    FrameDecoder,
    Heartbeat,
    Samples,
    TimeSyncRequest,
    TimeSyncResponse,
    encode_frame,
)
from bohsense.simulators._shelf import Lane, ShelfDevice

__all__ = ["make_stream", "run_shelf_bench"]

_CHUNK = 4096
_WEIGHTS = (355.0, 500.0, 150.0, 750.0, 240.0, 1000.0)


def _lanes(n: int) -> list[Lane]:
    return [
        Lane(_WEIGHTS[i % len(_WEIGHTS)], 12, tare_g=150.0 + 10 * (i % 6), unit_spread=0.02) for i in range(n)
    ]


def make_stream(lanes: int, seconds: float, rate_hz: float = 10.0, seed: int = 7) -> tuple[bytes, int, bytes]:
    """(the stream, how many SAMPLES frames it holds, the HELLO frame that opens it)."""
    clock = VirtualClock()
    device = ShelfDevice("shelf-bench", lanes=_lanes(lanes), seed=seed, rate_hz=rate_hz, clock=clock)
    device.boot()
    device.shoppers(mean_interval_s=4.0, until_s=seconds, seed=seed)
    hello = encode_frame(device.hello(), 0)
    seq = 2  # after HELLO (0) and the answer to the clock measurement (1)
    out = bytearray()
    frames = 0
    t = 0.0
    step = 1.0 / rate_hz
    while t < seconds:
        clock.t = t
        device.fire_due(t)
        values = device.sample_values(device.elapsed(t))  # what its loop samples at t
        out += encode_frame(Samples(EPOCH_NS // 1000 + int(t * 1e6), True, values), seq)
        seq = (seq + 1) & 0xFFFF
        frames += 1
        if frames % int(rate_hz) == 0:
            out += encode_frame(Heartbeat(int(t * 1000), 0), seq)
            seq = (seq + 1) & 0xFFFF
        t += step
    return bytes(out), frames, hello


def _primed(lanes: int, hello: bytes) -> tuple[SerialSession, LaneInterpreter]:
    """A session past HELLO and the clock measurement, and the lanes' interpreter."""
    session = SerialSession(SessionConfig())
    interpreter = LaneInterpreter(
        tuple(LaneConfig(_WEIGHTS[i % 6], 150.0 + 10 * (i % 6), 0.02) for i in range(lanes)),
        StabilityConfig(),
    )
    now_us = EPOCH_NS // 1000
    session.start(now_us)
    (frame,) = [f for f in FrameDecoder().feed(hello) if isinstance(f, Frame)]
    out = session.on_frame(frame, now_us)
    for observation in out.observations:
        interpreter.observe(observation)
    (request,) = [m for m in out.send if isinstance(m, TimeSyncRequest)]
    t1 = request.gateway_time_us
    session.on_frame(Frame(1, TimeSyncResponse(t1, t1 + 100, t1 + 110, True)), t1 + 210)
    if session.state != "streaming":
        raise RuntimeError(f"the benchmark session did not reach streaming ({session.state})")
    return session, interpreter


def _decode_only(stream: bytes) -> tuple[float, int]:
    decoder = FrameDecoder()
    frames = 0
    start = time.perf_counter()
    for i in range(0, len(stream), _CHUNK):
        for result in decoder.feed(stream[i : i + _CHUNK]):
            frames += isinstance(result, Frame) and isinstance(result.message, Samples)
    return time.perf_counter() - start, frames


def _gateway(stream: bytes, lanes: int, hello: bytes, seconds: float) -> tuple[float, int, int]:
    session, interpreter = _primed(lanes, hello)
    decoder = FrameDecoder()
    samples = events = 0
    now_us = EPOCH_NS // 1000 + int(seconds * 1e6) + 1_000_000  # every sample is in the past
    start = time.perf_counter()
    for i in range(0, len(stream), _CHUNK):
        for result in decoder.feed(stream[i : i + _CHUNK]):
            if isinstance(result, Frame):
                for observation in session.on_frame(result, now_us).observations:
                    samples += 1
                    events += len(interpreter.observe(observation).events)
    elapsed = time.perf_counter() - start
    refused = {k: v for k, v in session.counters.items() if k in ("bad_time", "bad_values", "frames_lost")}
    if any(refused.values()):
        raise RuntimeError(f"the session refused part of the benchmark stream: {refused}")
    return elapsed, samples, events


def run_shelf_bench(lanes: int = 24, seconds: float = 300.0, rounds: int = 3) -> dict[str, Any]:
    stream, frames, hello = make_stream(lanes, seconds)
    best_decode = best_gateway = float("inf")
    lane_samples = events = 0
    for _ in range(rounds):
        t, n = _decode_only(stream)
        if n != frames:
            raise RuntimeError(f"decoded {n} SAMPLES frames of {frames}")
        best_decode = min(best_decode, t)
        t, lane_samples, events = _gateway(stream, lanes, hello, seconds)
        if lane_samples != frames * lanes:
            raise RuntimeError(f"the gateway made {lane_samples} lane samples of {frames * lanes}")
        best_gateway = min(best_gateway, t)
    gateway_lanes_per_s = lane_samples / best_gateway
    return {
        "lanes_per_shelf": lanes,
        "device_seconds": seconds,
        "frames": frames,
        "bytes": len(stream),
        "rounds": rounds,
        "events": events,
        "decode_only_frames_per_s": round(frames / best_decode),
        "gateway_frames_per_s": round(frames / best_gateway),
        "gateway_lane_samples_per_s": round(gateway_lanes_per_s),
        "decode_share_of_gateway_time": round(best_decode / best_gateway, 3),
        # from the figure shown beside it, so the two always agree
        "lanes_per_core_at_10hz": round(gateway_lanes_per_s) // 10,
    }
