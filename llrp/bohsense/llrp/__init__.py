"""LLRP 1.0.1 (EPCglobal Low Level Reader Protocol) for RFID readers: a sans-I/O core.

Bytes in, messages out; messages in, bytes out — no sockets, no threads, no clock. The
same core serves a client (the gateway's reader driver) and a reader (the simulator).

Supported
---------
Framing: the 10-byte message header (version 1, 10-bit type, 32-bit length, 32-bit
id), TLV parameters (10-bit type, 16-bit length), TV parameters (7-bit type, fixed
lengths for types 1-18), nested to any depth. ``MessageDecoder`` decodes a TCP
stream (its docstring says how errors end or spare the stream); ``decode_message`` /
``decode_body`` decode one message; ``encode_message`` encodes every message below.

Messages (type): GET_READER_CAPABILITIES (1) / _RESPONSE (11), GET_READER_CONFIG (2) /
_RESPONSE (12), SET_READER_CONFIG (3) / _RESPONSE (13), CLOSE_CONNECTION (14) /
_RESPONSE (4), ADD_ROSPEC (20), DELETE_ROSPEC (21), START_ROSPEC (22), STOP_ROSPEC (23),
ENABLE_ROSPEC (24), DISABLE_ROSPEC (25), GET_ROSPECS (26) and their responses (30-36),
ADD_ACCESSSPEC (40), DELETE_ACCESSSPEC (41), ENABLE_ACCESSSPEC (42),
DISABLE_ACCESSSPEC (43), GET_ACCESSSPECS (44) and their responses (50-54), GET_REPORT
(60), RO_ACCESS_REPORT (61), KEEPALIVE (62), READER_EVENT_NOTIFICATION (63),
ENABLE_EVENTS_AND_REPORTS (64), KEEPALIVE_ACK (72), ERROR_MESSAGE (100) and
CUSTOM_MESSAGE (1023, kept as vendor id, subtype and bytes).

Parameters: every parameter of LLRP 1.0.1 and of its C1G2 air protocol — status
(LLRPStatus, FieldError, ParameterError), time (UTCTimestamp, Uptime), capabilities
(general device with receive sensitivities, GPIO and air protocols; LLRP; regulatory
with the transmit power table, frequency hop and fixed tables and the C1G2 UHF RF mode
table; C1G2 LLRP), configuration (identification, antenna properties and
configuration, RF receiver and transmitter, C1G2 inventory command with filters,
masks, RF control and singulation control, event notification spec, keepalive spec,
GPI / GPO, events and reports, access report spec, configuration state value), the
ROSpec (boundary spec, start and stop triggers with periodic and GPI values, AISpec
with its stop trigger and tag observation trigger, inventory parameter spec, RF
survey spec, RO report spec with its tag report content selector and C1G2 EPC memory
selector), the AccessSpec (stop trigger, access command with C1G2 tag spec and target
tags, read, write, kill, lock with payloads, block erase, block write), reports
(TagReportData with EPC-96 or EPCData and every TV value: antenna, peak RSSI, channel,
first / last seen UTC and uptime, seen count, RO spec id, spec index, inventory
parameter spec id, access spec id, C1G2 PC and CRC; the C1G2 op spec results; RF survey
report data), and reader events (hopping, GPI, ROSpec, AISpec with singulation
details, antenna, report buffer level and overflow, reader exception, RF survey,
connection attempt, connection close). Custom parameters anywhere are kept as
``Custom`` (vendor id, subtype, bytes) in ``extensions``, so Impinj extensions pass
through unchanged.

Not supported: LLRP 1.1 (version 2) messages and parameters (refused with
``UNSUPPORTED_VERSION``); CLIENT_REQUEST_OP (45/55) with ClientRequestOpSpec,
ClientRequestResponse and ClientRequestOpSpecResult (refused, or kept raw where they
appear inside a known message); vendor extensions are carried, not interpreted.

Enumerated fields are plain ``int`` (the ``IntEnum`` classes name the values), so a
value a newer reader sends survives decoding and re-encoding unchanged. Reserved bits
are ignored when decoding and written as zero. Parameters are accepted in any order
and encoded in the specification's order, Custom and raw parameters after their
typed siblings: re-encoding reproduces the bytes of every message that was in that
order (every real capture is, see ``tests/llrp``), and never drops a byte of one that
was not.

Exceptions::

    LLRPException
     ├── EncodeError   a message whose values the wire format cannot carry
     └── DecodeError   bytes that are not a valid message (one-shot helpers only;
                       ``.error`` is the LLRPError value)

Bad bytes from a peer are returned as ``LLRPError`` values by ``MessageDecoder.feed``,
never raised; ``LLRPError.fatal`` says whether the connection must be reopened.
"""

from bohsense.llrp._access import (
    AccessCommand,
    AccessSpec,
    AccessSpecStopTrigger,
    C1G2BlockErase,
    C1G2BlockWrite,
    C1G2Kill,
    C1G2Lock,
    C1G2LockPayload,
    C1G2Read,
    C1G2TagSpec,
    C1G2TargetTag,
    C1G2Write,
)
from bohsense.llrp._capabilities import (
    C1G2LLRPCapabilities,
    C1G2UHFRFModeTable,
    C1G2UHFRFModeTableEntry,
    FixedFrequencyTable,
    FrequencyHopTable,
    FrequencyInformation,
    GeneralDeviceCapabilities,
    GPIOCapabilities,
    LLRPCapabilities,
    PerAntennaAirProtocol,
    PerAntennaReceiveSensitivityRange,
    ReceiveSensitivityTableEntry,
    RegulatoryCapabilities,
    TransmitPowerLevelTableEntry,
    UHFBandCapabilities,
)
from bohsense.llrp._codec import encode_parameter
from bohsense.llrp._config import (
    AccessReportSpec,
    AntennaConfiguration,
    AntennaProperties,
    C1G2Filter,
    C1G2InventoryCommand,
    C1G2RFControl,
    C1G2SingulationControl,
    C1G2TagInventoryMask,
    C1G2TagInventoryStateAwareFilterAction,
    C1G2TagInventoryStateAwareSingulationAction,
    C1G2TagInventoryStateUnawareFilterAction,
    EventNotificationState,
    EventsAndReports,
    GPIPortCurrentState,
    GPOWriteData,
    Identification,
    KeepaliveSpec,
    LLRPConfigurationStateValue,
    ReaderEventNotificationSpec,
    RFReceiver,
    RFTransmitter,
)
from bohsense.llrp._decoder import DEFAULT_MAX_MESSAGE_LENGTH, MessageDecoder
from bohsense.llrp._errors import DecodeError, EncodeError, ErrorReason, LLRPError, LLRPException
from bohsense.llrp._events import (
    AISpecEvent,
    AntennaEvent,
    C1G2SingulationDetails,
    ConnectionAttemptEvent,
    ConnectionAttemptStatus,
    ConnectionCloseEvent,
    GPIEvent,
    HoppingEvent,
    ReaderEventNotificationData,
    ReaderExceptionEvent,
    ReportBufferLevelWarningEvent,
    ReportBufferOverflowErrorEvent,
    RFSurveyEvent,
    ROSpecEvent,
)
from bohsense.llrp._framing import (
    LLRP_VERSION,
    Header,
    decode_body,
    decode_message,
    encode_message,
    parse_header,
)
from bohsense.llrp._messages import (
    CapabilitiesRequest,
    CloseConnection,
    CloseConnectionResponse,
    ConfigRequest,
    CustomMessage,
    EnableEventsAndReports,
    ErrorMessage,
    GetReaderCapabilities,
    GetReaderCapabilitiesResponse,
    GetReaderConfig,
    GetReaderConfigResponse,
    GetReport,
    Keepalive,
    KeepaliveAck,
    ReaderEventNotification,
    ROAccessReport,
    SetReaderConfig,
    SetReaderConfigResponse,
)
from bohsense.llrp._report import (
    EPC96,
    C1G2BlockEraseOpSpecResult,
    C1G2BlockWriteOpSpecResult,
    C1G2KillOpSpecResult,
    C1G2LockOpSpecResult,
    C1G2ReadOpSpecResult,
    C1G2WriteOpSpecResult,
    EPCData,
    FrequencyRSSILevelEntry,
    RFSurveyReportData,
    TagReportData,
)
from bohsense.llrp._rospec import (
    AISpec,
    AISpecStopTrigger,
    AISpecStopTriggerType,
    C1G2EPCMemorySelector,
    GPITriggerValue,
    InventoryParameterSpec,
    PeriodicTriggerValue,
    RFSurveySpec,
    RFSurveySpecStopTrigger,
    ROBoundarySpec,
    ROReportSpec,
    ROReportTrigger,
    ROSpec,
    ROSpecStartTrigger,
    ROSpecStartTriggerType,
    ROSpecState,
    ROSpecStopTrigger,
    ROSpecStopTriggerType,
    TagObservationTrigger,
    TagReportContentSelector,
)
from bohsense.llrp._schema import (
    MESSAGES,
    PARAMETERS,
    Custom,
    Message,
    Parameter,
    RawParameter,
)
from bohsense.llrp._spec_messages import (
    AddAccessSpec,
    AddAccessSpecResponse,
    AddROSpec,
    AddROSpecResponse,
    DeleteAccessSpec,
    DeleteAccessSpecResponse,
    DeleteROSpec,
    DeleteROSpecResponse,
    DisableAccessSpec,
    DisableAccessSpecResponse,
    DisableROSpec,
    DisableROSpecResponse,
    EnableAccessSpec,
    EnableAccessSpecResponse,
    EnableROSpec,
    EnableROSpecResponse,
    GetAccessSpecs,
    GetAccessSpecsResponse,
    GetROSpecs,
    GetROSpecsResponse,
    StartROSpec,
    StartROSpecResponse,
    StopROSpec,
    StopROSpecResponse,
)
from bohsense.llrp._status import (
    SUCCESS,
    FieldError,
    LLRPStatus,
    ParameterError,
    StatusCode,
    Uptime,
    UTCTimestamp,
)
from bohsense.llrp._wire import BitString

__all__ = [
    "DEFAULT_MAX_MESSAGE_LENGTH",
    "EPC96",
    "LLRP_VERSION",
    "MESSAGES",
    "PARAMETERS",
    "SUCCESS",
    "AISpec",
    "AISpecEvent",
    "AISpecStopTrigger",
    "AISpecStopTriggerType",
    "AccessCommand",
    "AccessReportSpec",
    "AccessSpec",
    "AccessSpecStopTrigger",
    "AddAccessSpec",
    "AddAccessSpecResponse",
    "AddROSpec",
    "AddROSpecResponse",
    "AntennaConfiguration",
    "AntennaEvent",
    "AntennaProperties",
    "BitString",
    "C1G2BlockErase",
    "C1G2BlockEraseOpSpecResult",
    "C1G2BlockWrite",
    "C1G2BlockWriteOpSpecResult",
    "C1G2EPCMemorySelector",
    "C1G2Filter",
    "C1G2InventoryCommand",
    "C1G2Kill",
    "C1G2KillOpSpecResult",
    "C1G2LLRPCapabilities",
    "C1G2Lock",
    "C1G2LockOpSpecResult",
    "C1G2LockPayload",
    "C1G2RFControl",
    "C1G2Read",
    "C1G2ReadOpSpecResult",
    "C1G2SingulationControl",
    "C1G2SingulationDetails",
    "C1G2TagInventoryMask",
    "C1G2TagInventoryStateAwareFilterAction",
    "C1G2TagInventoryStateAwareSingulationAction",
    "C1G2TagInventoryStateUnawareFilterAction",
    "C1G2TagSpec",
    "C1G2TargetTag",
    "C1G2UHFRFModeTable",
    "C1G2UHFRFModeTableEntry",
    "C1G2Write",
    "C1G2WriteOpSpecResult",
    "CapabilitiesRequest",
    "CloseConnection",
    "CloseConnectionResponse",
    "ConfigRequest",
    "ConnectionAttemptEvent",
    "ConnectionAttemptStatus",
    "ConnectionCloseEvent",
    "Custom",
    "CustomMessage",
    "DecodeError",
    "DeleteAccessSpec",
    "DeleteAccessSpecResponse",
    "DeleteROSpec",
    "DeleteROSpecResponse",
    "DisableAccessSpec",
    "DisableAccessSpecResponse",
    "DisableROSpec",
    "DisableROSpecResponse",
    "EPCData",
    "EnableAccessSpec",
    "EnableAccessSpecResponse",
    "EnableEventsAndReports",
    "EnableROSpec",
    "EnableROSpecResponse",
    "EncodeError",
    "ErrorMessage",
    "ErrorReason",
    "EventNotificationState",
    "EventsAndReports",
    "FieldError",
    "FixedFrequencyTable",
    "FrequencyHopTable",
    "FrequencyInformation",
    "FrequencyRSSILevelEntry",
    "GPIEvent",
    "GPIOCapabilities",
    "GPIPortCurrentState",
    "GPITriggerValue",
    "GPOWriteData",
    "GeneralDeviceCapabilities",
    "GetAccessSpecs",
    "GetAccessSpecsResponse",
    "GetROSpecs",
    "GetROSpecsResponse",
    "GetReaderCapabilities",
    "GetReaderCapabilitiesResponse",
    "GetReaderConfig",
    "GetReaderConfigResponse",
    "GetReport",
    "Header",
    "HoppingEvent",
    "Identification",
    "InventoryParameterSpec",
    "Keepalive",
    "KeepaliveAck",
    "KeepaliveSpec",
    "LLRPCapabilities",
    "LLRPConfigurationStateValue",
    "LLRPError",
    "LLRPException",
    "LLRPStatus",
    "Message",
    "MessageDecoder",
    "Parameter",
    "ParameterError",
    "PerAntennaAirProtocol",
    "PerAntennaReceiveSensitivityRange",
    "PeriodicTriggerValue",
    "RFReceiver",
    "RFSurveyEvent",
    "RFSurveyReportData",
    "RFSurveySpec",
    "RFSurveySpecStopTrigger",
    "RFTransmitter",
    "ROAccessReport",
    "ROBoundarySpec",
    "ROReportSpec",
    "ROReportTrigger",
    "ROSpec",
    "ROSpecEvent",
    "ROSpecStartTrigger",
    "ROSpecStartTriggerType",
    "ROSpecState",
    "ROSpecStopTrigger",
    "ROSpecStopTriggerType",
    "RawParameter",
    "ReaderEventNotification",
    "ReaderEventNotificationData",
    "ReaderEventNotificationSpec",
    "ReaderExceptionEvent",
    "ReceiveSensitivityTableEntry",
    "RegulatoryCapabilities",
    "ReportBufferLevelWarningEvent",
    "ReportBufferOverflowErrorEvent",
    "SetReaderConfig",
    "SetReaderConfigResponse",
    "StartROSpec",
    "StartROSpecResponse",
    "StatusCode",
    "StopROSpec",
    "StopROSpecResponse",
    "TagObservationTrigger",
    "TagReportContentSelector",
    "TagReportData",
    "TransmitPowerLevelTableEntry",
    "UHFBandCapabilities",
    "UTCTimestamp",
    "Uptime",
    "decode_body",
    "decode_message",
    "encode_message",
    "encode_parameter",
    "parse_header",
]
