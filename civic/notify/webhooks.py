"""Webhook adapters for department chat groups: WeCom (企业微信) group robots,
DingTalk (钉钉) custom robots (signed) and Feishu (飞书) custom bots (optionally
signed), each producing the format its platform publishes, behind one interface:

    adapter = adapter_for(url)                      # kind from the host, or
    adapter = adapter_for({"url": …, "kind": "dingtalk", "secret": "SEC…"})
    url, headers, body = adapter.build(message)     # body: UTF-8 JSON bytes
    result = adapter.ok(post(url, headers, body, timeout))  # → Outcome(ok, retry, error)

A Message is plain data (title, label/value lines, link), so deliveries can keep
it as JSON and the adapters stay free of the database.

Outcomes: HTTP 2xx with the platform's success code (errcode 0; Feishu code 0
or StatusCode 0) is sent; a non-zero code, 429 and 5xx are worth a retry; other
4xx are not (the URL is wrong or the robot was removed).
"""
import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import quote_plus, urlsplit

KINDS = ("wecom", "dingtalk", "feishu")
HOSTS = {"qyapi.weixin.qq.com": "wecom", "oapi.dingtalk.com": "dingtalk", "open.feishu.cn": "feishu",
         "open.larksuite.com": "feishu"}
WECOM_MAX_BYTES = 4096  # WeCom markdown content limit


@dataclass
class Message:
    title: str                                   # 【派遣】市容环境 · 暴露垃圾
    lines: list = field(default_factory=list)    # [(label, value), …]
    link: str | None = None
    link_text: str = "查看案件"

    def to_dict(self):
        return {"title": self.title, "lines": [list(pair) for pair in self.lines], "link": self.link,
                "link_text": self.link_text}

    @classmethod
    def from_dict(cls, data):
        return cls(data["title"], [tuple(pair) for pair in data.get("lines") or []], data.get("link"),
                   data.get("link_text") or "查看案件")

    def plain(self):
        text = "\n".join([self.title] + [f"{label}：{value}" for label, value in self.lines])
        return text + (f"\n{self.link_text}：{self.link}" if self.link else "")


@dataclass
class HttpResult:
    status: int | None     # None: no answer (network error)
    body: bytes = b""
    error: str | None = None


@dataclass
class Outcome:
    ok: bool
    retry: bool = False
    error: str | None = None


def _json(body):
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _md_escape(value):
    return str(value).replace("\n", " ").strip()


def _code_outcome(result, *names):
    """Common: the HTTP status first, then the first of `names` found in the JSON body must be 0."""
    if result.status is None:
        return Outcome(False, True, result.error or "network error")
    if result.status == 429 or result.status >= 500:
        return Outcome(False, True, f"HTTP {result.status}")
    if not 200 <= result.status < 300:
        return Outcome(False, False, f"HTTP {result.status}")
    try:
        data = json.loads(result.body or b"{}")
    except ValueError:
        return Outcome(False, True, "the answer is not JSON")
    if not isinstance(data, dict):
        return Outcome(False, True, "unexpected answer")
    for name in names:
        if name in data:
            code = data[name]
            if code == 0:
                return Outcome(True)
            message = data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or ""
            return Outcome(False, True, f"{name} {code}: {message}"[:300])
    return Outcome(False, True, f"no {' or '.join(names)} in the answer")


class Adapter:
    kind = ""

    def __init__(self, url, secret=None):
        self.url, self.secret = url, secret or None

    def build(self, message, now=None):
        raise NotImplementedError

    def ok(self, result):
        return _code_outcome(result, "errcode")


class WeComAdapter(Adapter):
    """企业微信群机器人: POST {"msgtype":"markdown","markdown":{"content":…}}; errcode 0."""
    kind = "wecom"

    def build(self, message, now=None):
        parts = [f"**{_md_escape(message.title)}**"]
        parts += [f'> {label}：<font color="comment">{_md_escape(value)}</font>' for label, value in message.lines]
        if message.link:
            parts.append(f"[{message.link_text}]({message.link})")
        content = "\n".join(parts)
        while len(content.encode("utf-8")) > WECOM_MAX_BYTES:
            content = content[:-50]
        return self.url, {"Content-Type": "application/json"}, _json(
            {"msgtype": "markdown", "markdown": {"content": content}})


def dingtalk_sign(secret, timestamp_ms):
    """钉钉加签: urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")))."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


class DingTalkAdapter(Adapter):
    """钉钉自定义机器人: markdown {title, text}; with a secret, timestamp (ms) and sign as query parameters."""
    kind = "dingtalk"

    def build(self, message, now=None):
        url = self.url
        if self.secret:
            timestamp = int((now if now is not None else time.time()) * 1000)
            url += ("&" if "?" in url else "?") + f"timestamp={timestamp}&sign={dingtalk_sign(self.secret, timestamp)}"
        parts = [f"#### {_md_escape(message.title)}"]
        parts += [f"- {label}：{_md_escape(value)}" for label, value in message.lines]
        if message.link:
            parts.append(f"\n[{message.link_text}]({message.link})")
        body = {"msgtype": "markdown", "markdown": {"title": message.title[:60], "text": "\n".join(parts)}}
        return url, {"Content-Type": "application/json"}, _json(body)


def feishu_sign(secret, timestamp_s):
    """飞书签名校验: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))."""
    key = f"{timestamp_s}\n{secret}".encode("utf-8")
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


class FeishuAdapter(Adapter):
    """飞书自定义机器人: a rich-text ("post") message; with a secret, timestamp (s) and sign in the body."""
    kind = "feishu"

    def build(self, message, now=None):
        rows = [[{"tag": "text", "text": f"{label}：{value}"}] for label, value in message.lines]
        if message.link:
            rows.append([{"tag": "a", "text": message.link_text, "href": message.link}])
        body = {"msg_type": "post", "content": {"post": {"zh_cn": {"title": message.title, "content": rows}}}}
        if self.secret:
            timestamp = str(int(now if now is not None else time.time()))
            body = {"timestamp": timestamp, "sign": feishu_sign(self.secret, timestamp), **body}
        return self.url, {"Content-Type": "application/json"}, _json(body)

    def ok(self, result):
        return _code_outcome(result, "code", "StatusCode")


ADAPTERS = {"wecom": WeComAdapter, "dingtalk": DingTalkAdapter, "feishu": FeishuAdapter}


def post(url, headers, body, timeout):
    """POST `body` and read the answer (an HttpResult); never raises for HTTP or network errors."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpResult(response.status, response.read(1 << 16))
    except urllib.error.HTTPError as exc:
        return HttpResult(exc.code, exc.read(1 << 16) if exc.fp else b"")
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
        reason = getattr(exc, "reason", exc)
        return HttpResult(None, b"", f"{type(exc).__name__}: {reason}"[:300])


def kind_from_url(url):
    host = (urlsplit(url or "").hostname or "").lower()
    return HOSTS.get(host)


def adapter_for(url_or_config):
    """The adapter for a webhook: a URL (kind from its host), or a mapping / object
    with url (or webhook_url), kind (or webhook_kind) and secret (or webhook_secret).
    Raises ValueError when the URL is missing or not http(s), or the kind unknown."""
    if isinstance(url_or_config, str):
        url, kind, secret = url_or_config, None, None
    elif isinstance(url_or_config, dict):
        get = url_or_config.get
        url, kind, secret = get("url") or get("webhook_url"), get("kind") or get("webhook_kind"), \
            get("secret") or get("webhook_secret")
    else:
        url = getattr(url_or_config, "webhook_url", None) or getattr(url_or_config, "url", None)
        kind = getattr(url_or_config, "webhook_kind", None) or getattr(url_or_config, "kind", None)
        secret = getattr(url_or_config, "webhook_secret", None) or getattr(url_or_config, "secret", None)
    url = (url or "").strip()
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise ValueError(f"not a webhook URL: {url[:80]!r}")
    kind = kind or kind_from_url(url)
    if kind not in ADAPTERS:
        raise ValueError(f"webhook kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return ADAPTERS[kind](url, secret)
