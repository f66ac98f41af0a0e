"""The LLRP reader's ROSpecs: ADD (checked against what the reader can do), ENABLE,
START, STOP, DISABLE, DELETE and GET_ROSPECS, and their execution on the tag world —
start and stop triggers, AISpecs and their stop triggers, inventory rounds, tag
aggregation and RO_ACCESS_REPORTs by the report triggers."""

from __future__ import annotations

import dataclasses

from bohsense.llrp import (
    EPC96,
    AddROSpec,
    AddROSpecResponse,
    AISpec,
    AISpecEvent,
    AISpecStopTriggerType,
    BitString,
    C1G2SingulationDetails,
    DeleteROSpec,
    DeleteROSpecResponse,
    DisableROSpec,
    DisableROSpecResponse,
    EnableROSpec,
    EnableROSpecResponse,
    EPCData,
    FieldError,
    GetROSpecs,
    GetROSpecsResponse,
    Message,
    ParameterError,
    ROAccessReport,
    ROReportSpec,
    ROReportTrigger,
    ROSpec,
    ROSpecEvent,
    ROSpecStartTriggerType,
    ROSpecState,
    ROSpecStopTriggerType,
    StartROSpec,
    StartROSpecResponse,
    StatusCode,
    StopROSpec,
    StopROSpecResponse,
    TagReportData,
)
from bohsense.simulators._llrp_base import (
    EPSILON_MS,
    EVENT_AISPEC,
    EVENT_AISPEC_SINGULATION,
    EVENT_ROSPEC,
    MAX_TAGS_PER_REPORT,
    POWER_TABLE,
    Refusal,
    ROSpecRun,
    TagEntry,
    crc16_c1g2,
)
from bohsense.simulators._llrp_config import ConfigHandlers
from bohsense.simulators._llrp_impinj import (
    impinj_tag_values,
    is_impinj_tag_selector,
    parse_impinj_tag_selector,
)

__all__ = ["ROSpecEngine"]


class ROSpecEngine(ConfigHandlers):
    """ROSpec requests and their execution."""

    def _check_rospec(self, spec: ROSpec) -> None:
        def refuse(
            text: str, reason: str, ptype: int, code: StatusCode = StatusCode.P_FIELD_ERROR
        ) -> Refusal:
            return Refusal(StatusCode.M_PARAMETER_ERROR, text, reason,
                           parameter_error=ParameterError(parameter_type=ptype, error_code=code))  # fmt: skip

        if spec.ro_spec_id == 0:
            raise Refusal(StatusCode.M_FIELD_ERROR, "ROSpecID 0 is reserved", "bad-field",
                          field_error=FieldError(field_num=0, error_code=StatusCode.A_INVALID))  # fmt: skip
        if spec.ro_spec_id in self.rospecs:
            raise Refusal(StatusCode.M_FIELD_ERROR, f"ROSpec {spec.ro_spec_id} already exists", "duplicate-rospec",
                          field_error=FieldError(field_num=0, error_code=StatusCode.A_INVALID))  # fmt: skip
        if len(self.rospecs) >= 8:
            raise Refusal(StatusCode.M_FIELD_ERROR, "at most 8 ROSpecs", "too-many-rospecs")
        if spec.current_state != ROSpecState.DISABLED:
            raise Refusal(StatusCode.M_FIELD_ERROR, "a new ROSpec must be Disabled", "bad-field",
                          field_error=FieldError(field_num=2, error_code=StatusCode.A_INVALID))  # fmt: skip
        if spec.priority != 0:
            raise Refusal(StatusCode.M_FIELD_ERROR, "only priority 0 is supported", "bad-field",
                          field_error=FieldError(field_num=1, error_code=StatusCode.A_OUT_OF_RANGE))  # fmt: skip
        start, stop = spec.boundary.start_trigger, spec.boundary.stop_trigger
        if start.trigger_type == ROSpecStartTriggerType.GPI or start.trigger_type > 3:
            raise refuse("GPI start triggers are not supported (no GPI ports)", "unsupported-trigger", 179)
        if start.trigger_type == ROSpecStartTriggerType.PERIODIC and (
            start.periodic is None or not start.periodic.period
        ):
            raise refuse(
                "a periodic start trigger needs a PeriodicTriggerValue with a period", "bad-trigger", 179
            )
        if stop.trigger_type > 2:
            raise refuse(f"ROSpecStopTriggerType {stop.trigger_type} is not 0-2", "bad-trigger", 182)
        if not spec.specs:
            raise refuse(
                "an ROSpec needs at least one AISpec", "missing-spec", 177, StatusCode.P_MISSING_PARAMETER
            )
        for i, s in enumerate(spec.specs):
            if not isinstance(s, AISpec):
                raise refuse(f"spec {i + 1}: RF surveys are not supported", "unsupported-rfsurvey", 187,
                             StatusCode.P_UNSUPPORTED_PARAMETER)  # fmt: skip
            if not s.antenna_ids:
                raise refuse(
                    f"spec {i + 1}: an AISpec names at least one antenna (0: all)", "bad-antenna", 183
                )
            if len(s.inventory_parameter_specs) != 1:
                raise refuse(f"spec {i + 1}: this reader takes exactly one InventoryParameterSpec per AISpec, "
                             f"got {len(s.inventory_parameter_specs)}", "bad-inventory-spec", 183,
                             StatusCode.P_OVERFLOW_PARAMETER if s.inventory_parameter_specs
                             else StatusCode.P_MISSING_PARAMETER)  # fmt: skip
            for a in s.antenna_ids:
                if a and a not in self.antenna_ids:
                    raise refuse(f"spec {i + 1}: no antenna {a}", "bad-antenna", 183)
            trigger = s.stop_trigger
            if trigger.trigger_type > 3:
                raise refuse(f"AISpecStopTriggerType {trigger.trigger_type} is not 0-3", "bad-trigger", 184)
            if trigger.trigger_type == AISpecStopTriggerType.TAG_OBSERVATION:
                if self.behaviour.reject_n_tags_stop_trigger:
                    raise Refusal(
                        StatusCode.M_PARAMETER_ERROR,
                        "AISpecStopTrigger: tag observation triggers are not supported by this reader",
                        "unsupported-n-tags-trigger",
                        parameter_error=ParameterError(
                            parameter_type=184, error_code=StatusCode.P_FIELD_ERROR,
                            field_error=FieldError(field_num=0, error_code=StatusCode.A_OUT_OF_RANGE)),
                    )  # fmt: skip
                if trigger.tag_observation is None or trigger.tag_observation.trigger_type > 2:
                    raise refuse(
                        "a tag observation stop needs a TagObservationTrigger of type 0-2", "bad-trigger", 185
                    )
            for ips in s.inventory_parameter_specs:
                if ips.protocol_id != 1:
                    raise refuse(f"protocol {ips.protocol_id} is not EPC C1G2", "bad-protocol", 186)
                for conf in ips.antenna_configurations:
                    self._check_antenna_configuration(conf)
                bad = self._unwanted(ips.extensions)
                if bad is not None:
                    raise Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, bad, "unsupported-extension")
            bad = self._unwanted(s.extensions) or self._unwanted(trigger.extensions)
            if bad is not None:
                raise Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, bad, "unsupported-extension")
        if spec.report_spec is not None:
            self._check_report_spec(spec.report_spec)
        bad = self._unwanted(spec.extensions) or self._unwanted(spec.boundary.extensions)
        if bad is not None:
            raise Refusal(StatusCode.M_UNSUPPORTED_PARAMETER, bad, "unsupported-extension")

    def _on_add_rospec(self, m: AddROSpec) -> Message:
        self._check_rospec(m.ro_spec)
        self.rospecs[m.ro_spec.ro_spec_id] = ROSpecRun(m.ro_spec)
        return AddROSpecResponse(message_id=m.message_id)

    def _runs(self, ro_spec_id: int, field_num: int = 0) -> list[ROSpecRun]:
        if ro_spec_id == 0:
            return list(self.rospecs.values())
        run = self.rospecs.get(ro_spec_id)
        if run is None:
            raise Refusal(StatusCode.M_FIELD_ERROR, f"no ROSpec {ro_spec_id}", "no-such-rospec",
                          field_error=FieldError(field_num=field_num, error_code=StatusCode.A_INVALID))  # fmt: skip
        return [run]

    def _on_delete_rospec(self, m: DeleteROSpec) -> Message:
        for run in self._runs(m.ro_spec_id):
            if run.state == ROSpecState.ACTIVE:
                self._end_rospec(run, self.elapsed(), restart=False)
            del self.rospecs[run.spec.ro_spec_id]
        return DeleteROSpecResponse(message_id=m.message_id)

    def _on_enable_rospec(self, m: EnableROSpec) -> None:
        now = self.elapsed()
        immediate = []
        for run in self._runs(m.ro_spec_id):
            if run.state != ROSpecState.DISABLED:
                continue
            run.state = ROSpecState.INACTIVE
            start = run.spec.boundary.start_trigger
            if start.trigger_type == ROSpecStartTriggerType.IMMEDIATE:
                immediate.append(run)
            elif start.trigger_type == ROSpecStartTriggerType.PERIODIC:
                assert start.periodic is not None
                run.next_start = now + start.periodic.offset / 1000
        self._queue(EnableROSpecResponse(message_id=m.message_id), control=True)
        for run in immediate:  # the response goes first, then the ROSpec starts
            self._start_rospec(run, now)

    def _on_start_rospec(self, m: StartROSpec) -> None:
        runs = self._runs(m.ro_spec_id)
        for run in runs:
            if run.state == ROSpecState.DISABLED:
                raise Refusal(StatusCode.M_FIELD_ERROR, f"ROSpec {run.spec.ro_spec_id} is disabled",
                              "rospec-disabled", field_error=FieldError(field_num=0, error_code=StatusCode.A_INVALID))  # fmt: skip
        self._queue(StartROSpecResponse(message_id=m.message_id), control=True)
        now = self.elapsed()
        for run in runs:
            if run.state == ROSpecState.INACTIVE:
                self._start_rospec(run, now)

    def _on_stop_rospec(self, m: StopROSpec) -> None:
        runs = self._runs(m.ro_spec_id)
        if m.ro_spec_id and runs[0].state != ROSpecState.ACTIVE:
            raise Refusal(StatusCode.M_FIELD_ERROR, f"ROSpec {m.ro_spec_id} is not active", "rospec-not-active",
                          field_error=FieldError(field_num=0, error_code=StatusCode.A_INVALID))  # fmt: skip
        self._queue(StopROSpecResponse(message_id=m.message_id), control=True)
        for run in runs:
            if run.state == ROSpecState.ACTIVE:
                self._end_rospec(run, self.elapsed(), restart=False)

    def _on_disable_rospec(self, m: DisableROSpec) -> None:
        runs = self._runs(m.ro_spec_id)
        self._queue(DisableROSpecResponse(message_id=m.message_id), control=True)
        for run in runs:
            if run.state == ROSpecState.ACTIVE:
                self._end_rospec(run, self.elapsed(), restart=False)
            run.state = ROSpecState.DISABLED
            run.next_start = None

    def _on_get_rospecs(self, m: GetROSpecs) -> Message:
        return GetROSpecsResponse(
            message_id=m.message_id,
            ro_specs=tuple(dataclasses.replace(r.spec, current_state=r.state) for r in self.rospecs.values()),
        )

    # -- ROSpec execution -------------------------------------------------------------

    def _start_rospec(self, run: ROSpecRun, at: float) -> None:
        run.state = ROSpecState.ACTIVE
        run.started_at = at
        run.spec_index = 0
        self._start_ai(run, at)
        if EVENT_ROSPEC in self.events_on:
            self._queue(self._event(ro_spec=ROSpecEvent(event_type=0, ro_spec_id=run.spec.ro_spec_id)))

    def _start_ai(self, run: ROSpecRun, at: float) -> None:
        run.ai_started_at = at
        run.next_round = at
        run.rounds = 0
        run.seen = set()
        run.last_new = at

    def _report_spec(self, run: ROSpecRun) -> ROReportSpec:
        return run.spec.report_spec or self.default_report

    def _round(self, run: ROSpecRun, at: float) -> None:
        """The round due at ``at``: first what the previous one ended, then an inventory."""
        if run.rounds:
            self._check_end(run, at)
            if run.state != ROSpecState.ACTIVE:
                return
        self._inventory(run, at)

    def _inventory(self, run: ROSpecRun, at: float) -> None:
        ai = run.spec.specs[run.spec_index]
        assert isinstance(ai, AISpec)
        antennas = self.antenna_ids if 0 in ai.antenna_ids or not ai.antenna_ids else ai.antenna_ids
        ips = ai.inventory_parameter_specs[0] if ai.inventory_parameter_specs else None
        power = dict(self.tx_power)
        for conf in ips.antenna_configurations if ips else ():
            if conf.rf_transmitter is not None:
                for a in (conf.antenna_id,) if conf.antenna_id else self.antenna_ids:
                    power[a] = conf.rf_transmitter.transmit_power
        report = self._report_spec(run)
        by_antenna = report.content_selector.enable_antenna_id
        mono = self._boot + at
        utc = self.clock_us(mono)
        up = int(at * 1e6)
        for a in antennas:
            tx_dbm = POWER_TABLE[power[a] - 1][1] / 100
            for s in self.world.inventory_round(self.device_id, a, tx_dbm, self._rng):
                if s.epc not in run.seen:
                    run.seen.add(s.epc)
                    run.last_new = at
                key = (s.epc, a if by_antenna else 0)
                tag = run.tags.get(key)
                if tag is None:
                    run.tags[key] = TagEntry(s.epc, a, run.spec_index + 1, ips.spec_id if ips else 0,
                                         utc, utc, up, up, s.rssi_dbm)  # fmt: skip
                    if report.trigger != ROReportTrigger.NONE and report.n and len(run.tags) >= report.n:
                        self._flush(run)  # every N tags: exactly N in each report
                else:
                    tag.last_us, tag.last_up, tag.count = utc, up, tag.count + 1
                    tag.peak = max(tag.peak, s.rssi_dbm)
        run.rounds += 1
        run.next_round = at + self.behaviour.round_s

    def _check_end(self, run: ROSpecRun, at: float) -> None:
        # the ROSpec's stop trigger first: it ends the AISpec with it
        stop = run.spec.boundary.stop_trigger
        ran_ms = (at - run.started_at) * 1000 + EPSILON_MS
        if (stop.trigger_type == ROSpecStopTriggerType.DURATION and ran_ms >= stop.duration_trigger_value) or (
            stop.trigger_type == ROSpecStopTriggerType.GPI_WITH_TIMEOUT and stop.gpi is not None
            and stop.gpi.timeout and ran_ms >= stop.gpi.timeout
        ):  # fmt: skip
            self._end_ai(run, at)
            self._end_rospec(run, at, restart=False)
            return
        ai = run.spec.specs[run.spec_index]
        assert isinstance(ai, AISpec)
        if self._ai_done(run, ai, at):
            self._end_ai(run, at)
            run.spec_index += 1
            if run.spec_index < len(run.spec.specs):
                self._start_ai(run, at)
            else:
                self._end_rospec(run, at)

    def _ai_done(self, run: ROSpecRun, ai: AISpec, at: float) -> bool:
        trigger = ai.stop_trigger
        ran_ms = (at - run.ai_started_at) * 1000 + EPSILON_MS
        kind = trigger.trigger_type
        if kind == AISpecStopTriggerType.DURATION:
            return ran_ms >= trigger.duration_trigger
        if kind == AISpecStopTriggerType.GPI_WITH_TIMEOUT:
            return trigger.gpi is not None and bool(trigger.gpi.timeout) and ran_ms >= trigger.gpi.timeout
        if kind == AISpecStopTriggerType.TAG_OBSERVATION:
            obs = trigger.tag_observation
            assert obs is not None
            if obs.timeout and ran_ms >= obs.timeout:
                return True
            if obs.trigger_type == 0:
                return len(run.seen) >= max(1, obs.number_of_tags)
            if obs.trigger_type == 1:
                return (at - run.last_new) * 1000 + EPSILON_MS >= obs.t
            return run.rounds >= max(1, obs.number_of_attempts)
        return False

    def _end_ai(self, run: ROSpecRun, at: float) -> None:
        if self._report_spec(run).trigger == ROReportTrigger.UPON_N_TAGS_OR_END_OF_AISPEC:
            self._flush(run)
        if EVENT_AISPEC in self.events_on or EVENT_AISPEC_SINGULATION in self.events_on:
            details = (
                C1G2SingulationDetails(num_collision_slots=0, num_empty_slots=0)
                if EVENT_AISPEC_SINGULATION in self.events_on
                else None
            )
            self._queue(self._event(ai_spec=AISpecEvent(ro_spec_id=run.spec.ro_spec_id,
                                                        spec_index=run.spec_index + 1,
                                                        singulation_details=details)))  # fmt: skip

    def _end_rospec(self, run: ROSpecRun, at: float, *, restart: bool = True) -> None:
        if self._report_spec(run).trigger != ROReportTrigger.NONE:
            self._flush(run)
        run.state = ROSpecState.INACTIVE
        if EVENT_ROSPEC in self.events_on:
            self._queue(self._event(ro_spec=ROSpecEvent(event_type=1, ro_spec_id=run.spec.ro_spec_id)))
        boundary = run.spec.boundary
        if (
            restart
            and boundary.stop_trigger.trigger_type == ROSpecStopTriggerType.NULL
            and boundary.start_trigger.trigger_type == ROSpecStartTriggerType.IMMEDIATE
        ):
            self._start_rospec(run, at)

    def _flush(self, run: ROSpecRun) -> None:
        if not run.tags:
            return
        tags = sorted(run.tags.values(), key=lambda t: (t.first_us, t.epc, t.antenna_id))
        run.tags = {}
        sel = self._report_spec(run).content_selector
        pc_bits = any(m.enable_pc_bits for m in sel.epc_memory_selectors)
        crc = any(m.enable_crc for m in sel.epc_memory_selectors)
        impinj = frozenset().union(*(
            parse_impinj_tag_selector(e) for e in self._report_spec(run).extensions if is_impinj_tag_selector(e)
        ))  # fmt: skip
        datas = []
        for t in tags:
            pc = (len(t.epc) // 2) << 11  # EPC length in words, no user memory, no XPC
            datas.append(TagReportData(
                epc=EPCData(epc=BitString.of(t.epc)) if self.behaviour.epc_data else EPC96(epc=t.epc),
                ro_spec_id=run.spec.ro_spec_id if sel.enable_ro_spec_id else None,
                spec_index=t.spec_index if sel.enable_spec_index else None,
                inventory_parameter_spec_id=t.ips_id if sel.enable_inventory_parameter_spec_id else None,
                antenna_id=t.antenna_id if sel.enable_antenna_id else None,
                peak_rssi=t.peak if sel.enable_peak_rssi else None,
                channel_index=1 if sel.enable_channel_index else None,
                first_seen_utc=t.first_us if sel.enable_first_seen_timestamp else None,
                last_seen_utc=t.last_us if sel.enable_last_seen_timestamp else None,
                tag_seen_count=min(t.count, 0xFFFF) if sel.enable_tag_seen_count else None,
                c1g2_pc=pc if pc_bits else None,
                c1g2_crc=crc16_c1g2(pc.to_bytes(2, "big") + t.epc) if crc else None,
                extensions=impinj_tag_values(impinj, t.peak, self._rng) if impinj else (),
            ))  # fmt: skip
        for i in range(0, len(datas), MAX_TAGS_PER_REPORT):
            chunk = tuple(datas[i : i + MAX_TAGS_PER_REPORT])
            report = ROAccessReport(message_id=self._take_id(), tags=chunk)
            self._queue(report)
