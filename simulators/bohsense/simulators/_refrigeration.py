"""Thermal physics of a refrigerated case or freezer, in simulated time (no I/O, no clock).

Two thermal masses: the cabinet air (what the probe reads, and what the thermostat
controls) and the goods, coupled by a conductance. Heat leaks in through the walls
(``ua_w_k``) and much faster through an open door (``door_ua_w_k``); the evaporator takes
``capacity_w`` out while the compressor runs. A thermostat starts the compressor at
setpoint + differential/2 and stops it at setpoint − differential/2, with a minimum off
time against short cycling. Every ``defrost_interval_s`` a defrost stops the compressor
(a case: off-cycle; a freezer: an electric heater as well) until the evaporator reaches
``defrost_end_c`` or ``defrost_max_s`` has passed. Doors open as a Poisson process during
store hours (07:00–22:00, simulated time from midnight of day 0), each for a few seconds.

Probes: cabinet air (``air_c``), evaporator coil (``evap_c``), condenser (``cond_c``).
Ice builds on the evaporator while it runs (faster with the door open) and costs it
capacity; a defrost melts it. Faults (``REFRIGERATION_FAULTS``, severity 0..1):

| fault | what it does |
|---|---|
| ``refrigerant_leak`` | capacity falls (to 25 % at failure), the starved evaporator runs colder, the condenser cooler: longer duty cycle, then a warm cabinet |
| ``condenser_fan`` | the condenser cannot shed heat: it runs hotter (up to +25 K), capacity falls to 35 % |
| ``iced_evaporator`` | defrosts stop clearing the ice (the heater or its termination failing): ice grows over days, capacity and coil temperature fall |
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["CASES", "REFRIGERATION_FAULTS", "CaseModel", "CaseState", "RefrigerationTrace", "simulate_case"]

REFRIGERATION_FAULTS = ("refrigerant_leak", "condenser_fan", "iced_evaporator")
STORE_OPEN_H = (7.0, 22.0)


@dataclass(frozen=True, slots=True)
class CaseModel:
    kind: str
    setpoint_c: float
    differential_k: float = 2.0
    ambient_c: float = 21.0
    ua_w_k: float = 25.0
    door_ua_w_k: float = 80.0
    capacity_w: float = 1200.0
    air_j_k: float = 150_000.0
    goods_j_k: float = 1_500_000.0
    goods_w_k: float = 40.0
    #: evaporator ΔT to the air at full capacity, K
    evap_dt_k: float = 8.0
    #: condenser rise over ambient at full load, K
    cond_rise_k: float = 12.0
    defrost_interval_s: float = 6 * 3600.0
    defrost_max_s: float = 30 * 60.0
    defrost_end_c: float = 8.0
    heater_w: float = 0.0
    min_off_s: float = 180.0
    doors_per_hour: float = 20.0
    door_open_s: float = 8.0
    #: kg of ice per hour of running (doubled with the door open); capacity halves at ice_ref_kg
    ice_kg_h: float = 0.15
    ice_ref_kg: float = 1.0


CASES: dict[str, CaseModel] = {
    "case": CaseModel("case", setpoint_c=3.0),
    "freezer": CaseModel(
        "freezer",
        setpoint_c=-20.0,
        ua_w_k=10.0,
        door_ua_w_k=40.0,
        capacity_w=1000.0,
        evap_dt_k=10.0,
        defrost_interval_s=8 * 3600.0,
        defrost_max_s=25 * 60.0,
        heater_w=900.0,
        doors_per_hour=8.0,
        door_open_s=10.0,
        ice_kg_h=0.2,
    ),
}


@dataclass(slots=True)
class RefrigerationTrace:
    """One row per step: time (simulated s) and the state; ``events`` in simulated time."""

    t_s: npt.NDArray[np.float64]
    air_c: npt.NDArray[np.float64]
    evap_c: npt.NDArray[np.float64]
    cond_c: npt.NDArray[np.float64]
    compressor: npt.NDArray[np.bool_]
    defrost: npt.NDArray[np.bool_]
    door: npt.NDArray[np.bool_]
    events: list[dict[str, object]] = field(default_factory=list)

    def duty_cycle(self, start_s: float, end_s: float) -> float:
        sel = (self.t_s >= start_s) & (self.t_s < end_s)
        return float(self.compressor[sel].mean()) if sel.any() else math.nan


class CaseState:
    """The case as it evolves: ``advance(t_s)`` steps the physics to simulated time ``t_s``."""

    def __init__(
        self,
        model: CaseModel,
        severity: Callable[[float], Mapping[str, float]] | None = None,
        *,
        seed: int = 0,
        dt_s: float = 5.0,
    ) -> None:
        self.model = model
        self._severity = severity or (lambda t: {})
        self._rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x0C01D])
        self.dt_s = dt_s
        self.t_s = 0.0
        self.air_c = model.setpoint_c
        self.goods_c = model.setpoint_c
        self.evap_c = model.setpoint_c
        self.cond_c = model.ambient_c
        self.ice_kg = 0.0
        self.compressor = False
        self.defrost = False
        self.door = False
        self._off_since = -math.inf
        self._defrost_started = 0.0
        self._next_defrost = model.defrost_interval_s
        self._door_until = -math.inf
        self._next_door = self._draw_door(0.0)
        self._sev: Mapping[str, float] = {}
        self._sev_at = -math.inf
        self.events: list[dict[str, object]] = []

    def _open_hours(self, t_s: float) -> bool:
        hour = (t_s / 3600.0) % 24.0
        return STORE_OPEN_H[0] <= hour < STORE_OPEN_H[1]

    def _draw_door(self, after_s: float) -> float:
        rate = self.model.doors_per_hour / 3600.0
        if rate <= 0:
            return math.inf
        t = after_s
        while True:  # thinning: arrivals only in store hours
            t += float(self._rng.exponential(1.0 / rate))
            if self._open_hours(t):
                return t

    def _event(self, kind: str, **extra: object) -> None:
        self.events.append({"t_s": round(self.t_s, 3), "event": kind, **extra})

    def advance(self, to_s: float) -> None:
        while self.t_s + self.dt_s <= to_s + 1e-9:
            self._step()

    def _step(self) -> None:
        m, dt = self.model, self.dt_s
        t = self.t_s + dt
        if t - self._sev_at >= 60.0:
            self._sev = self._severity(t)
            self._sev_at = t
        leak = self._sev.get("refrigerant_leak", 0.0)
        fan = self._sev.get("condenser_fan", 0.0)
        iced = self._sev.get("iced_evaporator", 0.0)
        # doors
        if not self.door and t >= self._next_door:
            self.door = True
            self._door_until = t + float(self._rng.lognormal(math.log(m.door_open_s), 0.5))
            self._event("door-open")
        elif self.door and t >= self._door_until:
            self.door = False
            self._next_door = self._draw_door(t)
            self._event("door-close")
        # defrost
        if not self.defrost and t >= self._next_defrost:
            self.defrost = True
            self._defrost_started = t
            self._next_defrost += m.defrost_interval_s
            if self.compressor:
                self.compressor = False
                self._off_since = t
                self._event("compressor-off")
            self._event("defrost-start")
        elif self.defrost and (
            self.evap_c >= m.defrost_end_c or t - self._defrost_started >= m.defrost_max_s
        ):
            self.defrost = False
            self.ice_kg *= iced  # a healthy defrost clears the coil; a failing one leaves ice behind
            self._event("defrost-end", duration_s=round(t - self._defrost_started, 1))
        # thermostat
        if not self.defrost:
            if (
                not self.compressor
                and self.air_c >= m.setpoint_c + m.differential_k / 2
                and t - self._off_since >= m.min_off_s
            ):
                self.compressor = True
                self._event("compressor-on")
            elif self.compressor and self.air_c <= m.setpoint_c - m.differential_k / 2:
                self.compressor = False
                self._off_since = t
                self._event("compressor-off")
        # heat flows
        ice_factor = 1.0 / (1.0 + self.ice_kg / m.ice_ref_kg)
        capacity = m.capacity_w * (1 - 0.75 * leak) * (1 - 0.65 * fan) * ice_factor
        ua = m.ua_w_k + (m.door_ua_w_k if self.door else 0.0)
        q_in = ua * (m.ambient_c - self.air_c) + m.goods_w_k * (self.goods_c - self.air_c)
        if self.compressor:
            q_in -= capacity
            self.ice_kg += m.ice_kg_h * (2.0 if self.door else 1.0) * dt / 3600.0
        if self.defrost and m.heater_w:
            q_in += m.heater_w * 0.3  # most of the heater's heat goes into the coil and the ice
        self.air_c += q_in * dt / m.air_j_k
        self.goods_c += m.goods_w_k * (self.air_c - self.goods_c) * dt / m.goods_j_k
        # coil and condenser follow with short time constants
        if self.compressor:
            starve = 1.0 + 1.0 * leak + 0.8 * (1 - ice_factor)
            evap_target = self.air_c - m.evap_dt_k * starve
            cond_target = m.ambient_c + m.cond_rise_k * (1 - 0.4 * leak) * (1 + 2.0 * fan)
        else:
            heat = 25.0 if (self.defrost and m.heater_w) else 0.0
            evap_target = self.air_c + heat
            cond_target = m.ambient_c
        self.evap_c += (evap_target - self.evap_c) * min(1.0, dt / 60.0)
        self.cond_c += (cond_target - self.cond_c) * min(1.0, dt / 120.0)
        self.t_s = t


def simulate_case(
    model: CaseModel,
    duration_s: float,
    severity: Callable[[float], Mapping[str, float]] | None = None,
    *,
    seed: int = 0,
    dt_s: float = 5.0,
) -> RefrigerationTrace:
    """Run ``model`` for ``duration_s`` of simulated time; one trace row per ``dt_s``."""
    state = CaseState(model, severity, seed=seed, dt_s=dt_s)
    steps = int(duration_s / dt_s)
    cols = np.empty((steps, 4))
    flags = np.empty((steps, 3), dtype=bool)
    for i in range(steps):
        state._step()
        cols[i] = (state.t_s, state.air_c, state.evap_c, state.cond_c)
        flags[i] = (state.compressor, state.defrost, state.door)
    return RefrigerationTrace(
        cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3], flags[:, 0], flags[:, 1], flags[:, 2], state.events
    )
