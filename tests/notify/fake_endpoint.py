"""A local stand-in for the chat platforms' webhook endpoints. It checks what the
real ones check — the payload shape each platform publishes and, for DingTalk and
Feishu, the signature recomputed from the shared secret and the timestamp (and
rejects a bad or stale one the way the platform does) — records every message,
and answers as it is told (success by default; a 500, a non-zero errcode, …).

    /wecom/<robot>                      企业微信群机器人 (…/cgi-bin/webhook/send?key=…)
    /dingtalk/<robot>?access_token=…    钉钉自定义机器人, with &timestamp=…&sign=… when signed
    /feishu/<robot>                     飞书自定义机器人, timestamp and sign in the body when signed
"""
import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import quote_plus

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@dataclass
class Received:
    platform: str
    robot: str
    body: dict
    text: str           # the message's text, however the platform carries it
    accepted: bool
    error: str | None


def _expect(condition, message):
    if not condition:
        raise AssertionError(message)


def _wecom(body):
    _expect(set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown", "wecom: msgtype markdown")
    content = body["markdown"].get("content")
    _expect(isinstance(content, str) and content, "wecom: markdown.content")
    _expect(len(content.encode()) <= 4096, "wecom: content over 4096 bytes")
    return content


def _dingtalk(body):
    _expect(body.get("msgtype") == "markdown", "dingtalk: msgtype markdown")
    md = body.get("markdown") or {}
    _expect(isinstance(md.get("title"), str) and md["title"], "dingtalk: markdown.title")
    _expect(isinstance(md.get("text"), str) and md["text"], "dingtalk: markdown.text")
    return md["text"]


def _feishu(body):
    kind = body.get("msg_type")
    _expect(kind in ("text", "post"), "feishu: msg_type text or post")
    if kind == "text":
        text = (body.get("content") or {}).get("text")
        _expect(isinstance(text, str) and text, "feishu: content.text")
        return text
    post = (body.get("content") or {}).get("post") or {}
    zh = post.get("zh_cn")
    _expect(isinstance(zh, dict) and isinstance(zh.get("content"), list), "feishu: content.post.zh_cn.content")
    parts = [zh.get("title", "")]
    for row in zh["content"]:
        _expect(isinstance(row, list), "feishu: rows are lists")
        for item in row:
            _expect(item.get("tag") in ("text", "a", "at"), "feishu: tag")
            parts.append(item.get("text", "") + (" " + item["href"] if item.get("tag") == "a" else ""))
    return "\n".join(parts)


class FakeEndpoint:
    def __init__(self):
        self.received = []
        self.secrets = {}        # robot → secret (DingTalk, Feishu)
        self.answers = {}        # robot → deque of (status, body dict) to give before the default
        self.lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self._app, request_handler=_Quiet, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, platform, robot):
        base = f"http://127.0.0.1:{self.port}/{platform}/{robot}"
        return {"wecom": base + "?key=k-" + robot, "dingtalk": base + "?access_token=t-" + robot}.get(platform, base)

    def answer(self, robot, *answers):
        """The next answers for `robot`: (status, json body) each."""
        with self.lock:
            self.answers.setdefault(robot, deque()).extend(answers)

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)

    def accepted(self, robot=None):
        return [r for r in self.received if r.accepted and (robot is None or r.robot == robot)]

    # -- the platforms' checks -----------------------------------------------------

    def _check_dingtalk_sign(self, robot, args):
        secret = self.secrets.get(robot)
        if secret is None:
            return None
        timestamp, sign = args.get("timestamp"), args.get("sign")
        if not timestamp or not sign:
            return "sign not match"  # DingTalk: errcode 310000
        if abs(int(timestamp) - time.time() * 1000) > 3600 * 1000:
            return "timestamp expired"
        digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
        # The adapter urlencodes the base64 sign; the query string is decoded once by the server.
        expected = base64.b64encode(digest).decode()
        return None if hmac.compare_digest(sign, expected) else "sign not match"

    def _check_feishu_sign(self, robot, body):
        secret = self.secrets.get(robot)
        if secret is None:
            return None
        timestamp, sign = body.get("timestamp"), body.get("sign")
        if not timestamp or not sign:
            return "sign match fail or timestamp is not within one hour from current time"
        if abs(int(timestamp) - time.time()) > 3600:
            return "sign match fail or timestamp is not within one hour from current time"
        digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
        if not hmac.compare_digest(sign, base64.b64encode(digest).decode()):
            return "sign match fail or timestamp is not within one hour from current time"
        return None

    def _app(self, environ, start_response):
        request = Request(environ)
        parts = request.path.strip("/").split("/")
        platform, robot = (parts + ["", ""])[:2]
        try:
            _expect(request.method == "POST", "POST only")
            _expect(request.mimetype == "application/json", "Content-Type: application/json")
            body = json.loads(request.get_data())
            _expect(isinstance(body, dict), "a JSON object")
            check = {"wecom": _wecom, "dingtalk": _dingtalk, "feishu": _feishu}.get(platform)
            _expect(check is not None, f"unknown platform {platform!r}")
            text = check(body)
            if platform == "wecom":
                _expect(request.args.get("key") == f"k-{robot}", "wecom: key")
                refused = None
            elif platform == "dingtalk":
                _expect(request.args.get("access_token") == f"t-{robot}", "dingtalk: access_token")
                refused = self._check_dingtalk_sign(robot, request.args)
            else:
                refused = self._check_feishu_sign(robot, body)
        except (AssertionError, ValueError) as exc:
            self.received.append(Received(platform, robot, {}, "", False, str(exc)))
            return Response(json.dumps({"errcode": 40001, "code": 9499, "errmsg": str(exc)}), 400,
                            mimetype="application/json")(environ, start_response)
        if refused:
            self.received.append(Received(platform, robot, body, text, False, refused))
            fail = ({"code": 19021, "msg": refused, "data": {}} if platform == "feishu"
                    else {"errcode": 310000, "errmsg": refused})
            return Response(json.dumps(fail), 200, mimetype="application/json")(environ, start_response)
        with self.lock:
            queued = self.answers.get(robot)
            status, answer = queued.popleft() if queued else (200, None)
        if answer is None:
            answer = {"code": 0, "msg": "success", "data": {}} if platform == "feishu" else {"errcode": 0, "errmsg": "ok"}
        ok = status == 200 and (answer.get("errcode", answer.get("code", answer.get("StatusCode"))) == 0)
        self.received.append(Received(platform, robot, body, text, ok, None if ok else f"{status} {answer}"))
        return Response(json.dumps(answer, ensure_ascii=False), status,
                        mimetype="application/json")(environ, start_response)


def dingtalk_query_sign(secret, timestamp):
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())
