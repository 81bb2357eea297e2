"""The SMS hook: where push cannot reach (no subscription, or it stopped working),
new assignments and escalations go out as a text message.

An SmsSender has one method, send(phone, text) → SmsResult. SMS_SENDER chooses
one: "log" (default) only writes "SMS to 138****1234: …" to the app's log, with
any code in it masked (a log is no way to deliver a code); "console" (`make run`:
development and the demo, never production) prints each text, code and all, in a
line that stands out on the console and keeps them for the admins' page
/admin/messages, so that a resident can register in the demo; a real gateway (Aliyun, Tencent Cloud…) is one more class here and one more name
in SENDERS, or a dotted path "package.module:Class" to a class taking the app.
"""
import importlib
import logging
import re
import sys
from dataclasses import dataclass

from ..accounts.models import mask_phone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsResult:
    ok: bool
    error: str | None = None
    retry: bool = False  # a passing fault (the gateway is down): try again later


class SmsSender:
    def send(self, phone, text):  # pragma: no cover - an interface
        raise NotImplementedError


KEPT = 200
CODE = re.compile(r"(?<!\d)\d{4,8}(?!\d)")


class LoggingSmsSender(SmsSender):
    """Writes each message to the log with the number and any code masked; sends nothing."""

    shows_texts = False  # whether /admin/messages may list what was sent

    def __init__(self, app=None):
        self.sent = []  # (masked phone, text), newest last, the last KEPT: tests and /admin/messages read it

    def send(self, phone, text):
        masked = mask_phone(phone)
        log.info("SMS to %s: %s", masked, CODE.sub(lambda m: "*" * len(m.group()), text))
        self._keep(masked, text)
        return SmsResult(True)

    def _keep(self, masked, text):
        self.sent.append((masked, text))
        del self.sent[:-KEPT]


class ConsoleSmsSender(LoggingSmsSender):
    """Development and the demo: every text on the console where `make run` shows
    it, in full, and on /admin/messages. Never configure this in production."""

    shows_texts = True

    def send(self, phone, text):
        masked = mask_phone(phone)
        self._keep(masked, text)
        print(f"\n*** SMS (demo, not sent) to {masked}: {text} ***\n", file=sys.stderr, flush=True)
        return SmsResult(True)


SENDERS = {"log": LoggingSmsSender, "console": ConsoleSmsSender}


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
