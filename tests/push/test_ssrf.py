"""Push endpoints are URLs our server POSTs to (issue 17, item 12): only known
push services may be subscribed, never an address of this network (refused when
subscribed and again after DNS resolution at send time), and how deliveries to
a subscription went is told to nobody but its owner."""
import pytest

from civic.push.models import PushSubscription
from civic.push.transport import AsyncHttpPool, ForbiddenAddress, LoopThread, public_addresses
from tests.push.test_api import _with, post_sub, subs

INTERNAL = ["https://127.0.0.1/push", "https://localhost/push", "https://10.0.0.1/push", "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data", "https://[::1]/x", "https://[fd00::1]/x",
            "https://172.16.0.1:8443/x", "https://intranet.example/x", "https://0.0.0.0/x",
            "https://fcm.googleapis.com.evil.example/x", "http://fcm.googleapis.com/fcm/send/x"]


@pytest.mark.parametrize("app", [{"PUSH_ALLOW_HTTP_LOCALHOST": False}], indirect=True)
@pytest.mark.parametrize("endpoint", INTERNAL)
def test_an_endpoint_that_is_not_a_known_push_service_is_refused(app, county, api_as, endpoint):
    response = post_sub(api_as(county.worker), _with(endpoint=endpoint))
    assert response.status_code == 422 and response.json["error"]["field"] == "endpoint"
    assert subs() == []


@pytest.mark.parametrize("app", [{"PUSH_ALLOW_HTTP_LOCALHOST": False}], indirect=True)
@pytest.mark.parametrize("endpoint", ["https://fcm.googleapis.com/fcm/send/abc",
                                      "https://updates.push.services.mozilla.com/wpush/v2/abc",
                                      "https://web.push.apple.com/QO3x", "https://wns2-par02p.notify.windows.com/w/?t=1"])
def test_the_push_services_of_browsers_are_accepted(app, county, api_as, endpoint):
    assert post_sub(api_as(county.worker), _with(endpoint=endpoint)).status_code == 201


@pytest.mark.parametrize("app", [{"PUSH_ALLOW_HTTP_LOCALHOST": False,
                                  "PUSH_SERVICE_HOSTS": ("fcm.googleapis.com", "push.vendor.example.cn")}],
                         indirect=True)
def test_a_deployment_adds_the_domestic_services_it_trusts(app, county, api_as):
    assert post_sub(api_as(county.worker), _with(endpoint="https://push.vendor.example.cn/x")).status_code == 201
    assert post_sub(api_as(county.worker), _with(endpoint="https://a.push.vendor.example.cn/x")).status_code == 201


def test_a_name_that_resolves_inside_the_network_is_refused_at_send_time():
    """A known name whose DNS answer points at this machine (or a private network)."""
    io = LoopThread("test-ssrf")
    try:
        pool = AsyncHttpPool(timeout=5)  # allow_local off, as in production
        with pytest.raises(ForbiddenAddress):
            io.run(pool.post("https://localhost:9/push", b"x", {}))
    finally:
        io.stop()
    infos = [(2, 1, 6, "", ("127.0.0.1", 443)), (2, 1, 6, "", ("10.1.2.3", 443)), (10, 1, 6, "", ("fe80::1%2", 443, 0, 2)),
             (2, 1, 6, "", ("8.8.8.8", 443))]
    assert [sockaddr[0] for _family, sockaddr in public_addresses(infos)] == ["8.8.8.8"]


def test_a_new_owner_learns_nothing_of_the_previous_owners_deliveries(app, county, api_as):
    from civic.extensions import db
    from civic.timeutil import utcnow

    body = _with(endpoint="https://fcm.googleapis.com/fcm/send/shared")
    assert post_sub(api_as(county.worker), body).status_code == 201
    row = db.session.query(PushSubscription).one()
    row.last_failure_at = row.last_success_at = utcnow()
    db.session.commit()
    taken = post_sub(api_as(county.other_worker), body)
    assert taken.status_code == 200
    assert taken.json["last_failure_at"] is None and taken.json["last_success_at"] is None
    again = post_sub(api_as(county.other_worker), body)  # the owner's own outcomes stay the owner's
    assert again.status_code == 200
