"""Reader personalities and faults by name, as ``bohsense sim llrp --fault`` takes them:
``NAME[=VALUE][@READER]``, and ``readers_for`` to build a scenario's readers with them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bohsense.simulators._llrp_base import SECONDS_PER_YEAR, Behaviour
from bohsense.simulators._llrp_reader import LLRPReader
from bohsense.simulators._runtime import Clock
from bohsense.simulators._tags import TagWorld

__all__ = ["FAULTS", "Fault", "readers_for"]

# ---------------------------------------------------------------- faults by name (the command line)

#: name → (takes a value, what it does)
FAULTS: dict[str, tuple[bool, str]] = {
    "reject-n-tags": (
        False,
        "refuse the AISpec tag-observation (N tags) stop trigger, as ThingMagic readers do",
    ),
    "no-impinj": (False, "a non-Impinj reader: generic identity, IMPINJ_ENABLE_EXTENSIONS refused"),
    "epc-data": (False, "report EPCs as EPCData parameters instead of EPC-96"),
    "clock-years": (True, "the reader's UTC clock is wrong by this many years (may be negative)"),
    "reboot": (True, "reboot this many seconds after start (the connection drops, state is lost)"),
    "silent": (True, "stop sending anything this many seconds after start, keeping TCP open"),
    "drop": (True, "drop the network connection this many seconds after start"),
    "malformed": (True, "send one malformed RO_ACCESS_REPORT this many seconds after start"),
}


@dataclass(frozen=True)
class Fault:
    """``NAME[=VALUE][@READER]``: a behaviour or a timed fault, for one reader or all."""

    name: str
    value: float | None = None
    reader_id: str | None = None

    @classmethod
    def parse(cls, text: str) -> Fault:
        body, _, reader = text.partition("@")
        name, eq, raw = body.partition("=")
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        takes_value = FAULTS[name][0]
        if takes_value != bool(eq):
            raise ValueError(
                f"fault {name} {'needs' if takes_value else 'takes no'} value (NAME{'=N' if takes_value else ''})"
            )
        value = None
        if eq:
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"fault {name}: {raw!r} is not a number") from None
            if name != "clock-years" and value < 0:
                raise ValueError(f"fault {name}: {raw} seconds is negative")
        return cls(name, value, reader or None)

    def applies_to(self, reader_id: str) -> bool:
        return self.reader_id is None or self.reader_id == reader_id

    def shape(self, behaviour: Behaviour) -> None:
        """Set the behaviours fixed at construction."""
        if self.name == "reject-n-tags":
            behaviour.reject_n_tags_stop_trigger = True
        elif self.name == "no-impinj":
            behaviour.impinj_extensions = False
        elif self.name == "epc-data":
            behaviour.epc_data = True
        elif self.name == "clock-years":
            assert self.value is not None
            behaviour.clock_offset_s = self.value * SECONDS_PER_YEAR

    def arm(self, reader: LLRPReader) -> None:
        """Schedule the timed faults on a reader (after ``boot``)."""
        actions: dict[str, Callable[[], None]] = {
            "reboot": reader.reboot,
            "silent": reader.set_silent,
            "drop": reader.drop_network,
            "malformed": reader.send_malformed,
        }
        if self.name in actions:
            assert self.value is not None
            reader.at(self.value, actions[self.name])


def readers_for(
    world: TagWorld, faults: Sequence[Fault] = (), *, clock: Clock | None = None
) -> list[LLRPReader]:
    """One reader per reader of the world's scenario, shaped and armed with ``faults``."""
    known = set(world.readers)
    for f in faults:
        if f.reader_id is not None and f.reader_id not in known:
            raise ValueError(
                f"fault {f.name}@{f.reader_id}: no reader {f.reader_id!r} (readers: {', '.join(known)})"
            )
    out = []
    for spec in world.scenario.readers:
        behaviour = Behaviour()
        mine = [f for f in faults if f.applies_to(spec.reader_id)]
        for f in mine:
            f.shape(behaviour)
        reader = LLRPReader(spec, world, behaviour=behaviour, seed=world.scenario.seed, clock=clock)
        for f in mine:
            f.arm(reader)
        out.append(reader)
    return out
