"""Links: to this site only, built from PUBLIC_BASE_URL, never from what a client sent."""
import ipaddress
from urllib.parse import urlsplit

from flask import current_app, url_for


def public_base_url():
    """The site's address as people reach it (PUBLIC_BASE_URL), without a trailing slash."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def external_url(endpoint, **values):
    """An absolute link to `endpoint` for outside the browser (exports, Open311,
    QR posters, chat groups): built from PUBLIC_BASE_URL, never from the request's
    Host header, which any client can set to an address of its choosing."""
    return public_base_url() + url_for(endpoint, **values)


def same_site_path(target):
    """`target` when it is a path on this site, else None: never a link or a
    redirect to another host. Browsers read a backslash as a slash and drop tabs
    and newlines, so `/\\evil.example` and `/\\t/evil.example` mean `//evil.example`."""
    if not isinstance(target, str) or not target.startswith("/"):
        return None
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target


def is_loopback(host):
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def base_url_problem(served_host=None):
    """Why the QR codes and links built from PUBLIC_BASE_URL will not work on a
    resident's phone, or None: a loopback address (the phone's own), or another
    host than the one this page is served from."""
    base = public_base_url()
    host = urlsplit(base).hostname or ""
    if is_loopback(host):
        return "loopback", base
    served = urlsplit(f"//{served_host}").hostname if served_host else None
    if served and served != host and not is_loopback(served):  # on this machine itself anything goes
        return "other_host", base
    return None
