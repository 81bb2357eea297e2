"""The adapters on their own: each platform's published format, accepted by the
fake endpoint, with DingTalk and Feishu signatures checked there; and how each
platform's answers are read."""
import base64
import hashlib
import hmac
import json
from urllib.parse import quote_plus

import pytest

from civic.notify.webhooks import (DingTalkAdapter, FeishuAdapter, HttpResult, Message, WeComAdapter, adapter_for,
                                   dingtalk_sign, feishu_sign, post)
from tests.notify.fake_endpoint import FakeEndpoint

MESSAGE = Message("【派遣】暴露垃圾 C20261123-0001",
                  [("案件编号", "C20261123-0001"), ("问题类别", "暴露垃圾"), ("所属网格", "网格1-1"),
                   ("签收时限", "2026-11-23 15:00")],
                  "http://127.0.0.1:5000/cases/C20261123-0001")


@pytest.fixture
def endpoint():
    fake = FakeEndpoint()
    yield fake
    fake.stop()


def send(adapter):
    url, headers, body = adapter.build(MESSAGE)
    result = post(url, headers, body, timeout=5)
    return adapter.ok(result), json.loads(body)


@pytest.mark.parametrize("platform,secret", [("wecom", None), ("dingtalk", None), ("dingtalk", "SECabc+/=中"),
                                             ("feishu", None), ("feishu", "fs-secret")])
def test_each_platform_accepts_the_message(endpoint, platform, secret):
    robot = f"r-{platform}"
    if secret:
        endpoint.secrets[robot] = secret
    outcome, body = send(adapter_for({"url": endpoint.url(platform, robot), "kind": platform, "secret": secret}))
    assert outcome.ok, outcome.error
    [received] = endpoint.received
    assert received.accepted and received.platform == platform
    for text in ("C20261123-0001", "暴露垃圾", "网格1-1", "2026-11-23 15:00", "/cases/C20261123-0001"):
        assert text in received.text
    if platform == "wecom":
        assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"content"}
    elif platform == "dingtalk":
        assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"title", "text"}
    else:
        assert body["msg_type"] == "post" and ("sign" in body) == bool(secret)


@pytest.mark.parametrize("platform", ["dingtalk", "feishu"])
def test_a_wrong_secret_is_refused_and_worth_a_retry(endpoint, platform):
    endpoint.secrets["r"] = "the-right-one"
    outcome, _ = send(adapter_for({"url": endpoint.url(platform, "r"), "kind": platform, "secret": "a-wrong-one"}))
    assert not outcome.ok and outcome.retry
    assert ("310000" if platform == "dingtalk" else "19021") in outcome.error
    assert endpoint.received[0].accepted is False


@pytest.mark.parametrize("platform", ["dingtalk", "feishu"])
def test_an_unsigned_message_to_a_signed_robot_is_refused(endpoint, platform):
    endpoint.secrets["r"] = "secret"
    outcome, _ = send(adapter_for({"url": endpoint.url(platform, "r"), "kind": platform}))
    assert not outcome.ok


def test_signatures_follow_the_published_recipes():
    # DingTalk: HMAC-SHA256 keyed with the secret over "timestamp\nsecret", base64, urlencoded.
    digest = hmac.new(b"SEC000", b"1700000000000\nSEC000", hashlib.sha256).digest()
    assert dingtalk_sign("SEC000", 1700000000000) == quote_plus(base64.b64encode(digest).decode())
    url, _, _ = DingTalkAdapter("https://oapi.dingtalk.com/robot/send?access_token=x", "SEC000").build(
        MESSAGE, now=1700000000.123)
    assert url.startswith("https://oapi.dingtalk.com/robot/send?access_token=x&timestamp=1700000000123&sign=")
    assert url.endswith(dingtalk_sign("SEC000", 1700000000123))
    # Feishu: HMAC-SHA256 keyed with "timestamp\nsecret" over nothing, base64; timestamp in seconds.
    _, _, body = FeishuAdapter("https://open.feishu.cn/open-apis/bot/v2/hook/x", "s").build(MESSAGE, now=1700000000.9)
    body = json.loads(body)
    assert body["timestamp"] == "1700000000" and body["sign"] == feishu_sign("s", "1700000000")


def test_adapter_for_tells_the_kind_from_the_host_or_the_config():
    assert isinstance(adapter_for("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"), WeComAdapter)
    assert isinstance(adapter_for("https://oapi.dingtalk.com/robot/send?access_token=t"), DingTalkAdapter)
    assert isinstance(adapter_for("https://open.feishu.cn/open-apis/bot/v2/hook/h"), FeishuAdapter)
    assert isinstance(adapter_for({"webhook_url": "http://intranet/hook", "webhook_kind": "wecom"}), WeComAdapter)
    with pytest.raises(ValueError):
        adapter_for("http://intranet/hook")  # kind unknown
    with pytest.raises(ValueError):
        adapter_for({"url": "ftp://x/y", "kind": "wecom"})


def test_answers_are_read_per_platform():
    wecom, feishu = WeComAdapter("http://x/"), FeishuAdapter("http://x/")
    assert wecom.ok(HttpResult(200, b'{"errcode":0,"errmsg":"ok"}')).ok
    bad = wecom.ok(HttpResult(200, b'{"errcode":93000,"errmsg":"invalid webhook url"}'))
    assert not bad.ok and bad.retry and "93000" in bad.error
    assert wecom.ok(HttpResult(500, b"")).retry and wecom.ok(HttpResult(429, b"")).retry
    assert wecom.ok(HttpResult(None, error="ConnectionRefusedError")).retry
    gone = wecom.ok(HttpResult(404, b""))
    assert not gone.ok and not gone.retry
    assert feishu.ok(HttpResult(200, b'{"code":0,"msg":"success","data":{}}')).ok
    assert feishu.ok(HttpResult(200, b'{"StatusCode":0,"StatusMessage":"success"}')).ok
    assert not feishu.ok(HttpResult(200, b'{"code":9499,"msg":"too many request"}')).ok


def test_a_long_wecom_message_is_cut_to_the_limit():
    long = Message("标题", [("描述", "很长" * 3000)], "http://x/cases/1")
    _, _, body = WeComAdapter("http://x/").build(long)
    assert len(json.loads(body)["markdown"]["content"].encode()) <= 4096
