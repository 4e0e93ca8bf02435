"""The console gateway (the default, for the demo): each message is written to stdout and the log, the phone masked.

It always succeeds and never sends a delivery report.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from postal_bridge.domain.sms import (
    SmsMessage,
    SmsReport,
    SmsReportInvalid,
    SmsReportRequest,
    SmsSendResult,
    mask_phone,
    sms_length,
)

log = logging.getLogger("postal_bridge.sms.console")


class ConsoleSmsGateway:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream  # None: sys.stdout at the time of writing

    def send(self, message: SmsMessage) -> SmsSendResult:
        length = sms_length(message.text)
        line = (
            f"[SMS to {mask_phone(message.phone)} · {message.event} · {length.units} {length.encoding} units, "
            f"{length.parts} part(s)] {message.text}"
        )
        print(line, file=self.stream or sys.stdout, flush=True)
        log.info("sms written to the console", extra={"sms_id": message.id, "event": message.event})
        return SmsSendResult(gateway=self.name, gateway_message_id=f"console-{message.id[:12]}")

    def parse_reports(self, request: SmsReportRequest) -> list[SmsReport]:
        raise SmsReportInvalid("the console gateway sends no delivery reports")
