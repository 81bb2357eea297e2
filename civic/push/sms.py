"""The SMS hook: where push cannot reach (no subscription, or it stopped working),
new assignments and escalations go out as a text message.

An SmsSender has one method, send(phone, text) → SmsResult. SMS_SENDER chooses
one: "log" (default) only writes "SMS to 138****1234: …" to the app's log; a
real gateway (Aliyun, Tencent Cloud…) is one more class here and one more name
in SENDERS, or a dotted path "package.module:Class" to a class taking the app.
"""
import importlib
import logging
from dataclasses import dataclass

from ..accounts.models import mask_phone

log = logging.getLogger("civic.push.sms")


@dataclass(frozen=True)
class SmsResult:
    ok: bool
    error: str | None = None
    retry: bool = False  # a passing fault (the gateway is down): try again later


class SmsSender:
    def send(self, phone, text):  # pragma: no cover - an interface
        raise NotImplementedError


class LoggingSmsSender(SmsSender):
    """Writes each message to the log with the number masked; sends nothing."""

    def __init__(self, app=None):
        self.sent = []  # (masked phone, text): tests read it

    def send(self, phone, text):
        masked = mask_phone(phone)
        log.info("SMS to %s: %s", masked, text)
        self.sent.append((masked, text))
        return SmsResult(True)


SENDERS = {"log": LoggingSmsSender}


def make_sms_sender(app):
    name = app.config.get("SMS_SENDER") or "log"
    if name in SENDERS:
        return SENDERS[name](app)
    module, _, attr = name.partition(":")
    if not attr:
        raise ValueError(f"SMS_SENDER must be one of {', '.join(SENDERS)} or 'package.module:Class', not {name!r}")
    return getattr(importlib.import_module(module), attr)(app)


def sms_text(payload):
    """The message: 【网格通】 + title + body, one line."""
    return f"【网格通】{payload.get('title', '')}：{payload.get('body', '')}".strip("：")
