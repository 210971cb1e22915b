"""CORS at the front door, as browsers meet it: preflights and answers from allowed, disallowed
and missing origins on public, gated and error routes (nginx's own 401, 404, 405, 413 and 429,
the services' own answers), and the Origin check of both WebSocket gateways. Raw HTTP through
nginx, so every header is as a browser would see it."""

import http.client
import os
import re
import socket
import subprocess
import threading
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "socketio"))
from live_checks import ADMIN, BASE, check, login, run  # noqa: E402

URL = urllib.parse.urlsplit(BASE)
ALLOWED = os.environ.get("GUILDHALL_CORS_TEST_ORIGIN", "http://localhost:5173")
OTHER_ALLOWED = "http://127.0.0.1:5173"
FOREIGN = "https://evil.example"
EXPOSED = "Retry-After, X-Request-Id, Idempotent-Replayed, Location"
REQUIRED_HEADERS = {"authorization", "content-type", "idempotency-key", "x-device-token", "x-request-id"}


def send(method, path, headers=None, body=None, source="127.0.0.1"):
    connection = http.client.HTTPConnection(URL.hostname, URL.port, timeout=15, source_address=(source, 0))
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, {name.lower(): value for name, value in reply.getheaders()}, reply.read()
    finally:
        connection.close()


def cors_headers(headers):
    return {name: value for name, value in headers.items() if name.startswith("access-control-")}


def answered_for(origin, status, headers, what):
    """An answer to an allowed origin: the origin itself, credentials, the exposed headers, Vary."""
    check(headers.get("access-control-allow-origin") == origin, f"{what} ({status}): Access-Control-Allow-Origin {headers.get('access-control-allow-origin')!r}")
    check(headers.get("access-control-allow-credentials") == "true", f"{what}: no Access-Control-Allow-Credentials: true")
    check(headers.get("access-control-expose-headers") == EXPOSED, f"{what}: Expose-Headers {headers.get('access-control-expose-headers')!r}")
    check("origin" in headers.get("vary", "").lower(), f"{what}: no Vary: Origin ({headers.get('vary')!r})")


def preflights(token):
    request_headers = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}
    for path in ["/api/auth/login", "/api/tickets", "/api/booking/bookings", "/api/notifications/read-all", "/socket.io/?EIO=4&transport=polling", "/api/no/such/route"]:
        for origin in [ALLOWED, OTHER_ALLOWED]:
            status, headers, body = send("OPTIONS", path, {"Origin": origin, **request_headers})
            check(status == 204, f"preflight {path} from {origin}: {status} {body[:120]!r}")
            answered_for(origin, status, headers, f"preflight {path}")
            methods = {m.strip() for m in headers.get("access-control-allow-methods", "").split(",")}
            check({"GET", "POST", "PUT", "PATCH", "DELETE"} <= methods, f"preflight {path}: Allow-Methods {methods}")
            allowed = {h.strip().lower() for h in headers.get("access-control-allow-headers", "").split(",")}
            check(REQUIRED_HEADERS <= allowed, f"preflight {path}: Allow-Headers {allowed}")
            check(headers.get("access-control-max-age") == "600", f"preflight {path}: Max-Age {headers.get('access-control-max-age')!r}")
        # A disallowed origin (or junk, or a very long one): 403 origin_not_allowed, no CORS header.
        for origin in [FOREIGN, "null", "%%% not a url", "http://localhost:5173.evil.example", "http://LOCALHOST:5173/", "x" * 4000]:
            status, headers, body = send("OPTIONS", path, {"Origin": origin, **request_headers})
            check(status == 403 and b"origin_not_allowed" in body, f"preflight {path} from {origin[:40]!r}: {status} {body[:120]!r}")
            check(not cors_headers(headers), f"preflight {path} from {origin[:40]!r} carried {cors_headers(headers)}")
    # Junk in Access-Control-Request-Headers is no reason for a 5xx: the usual answer.
    status, headers, _ = send("OPTIONS", "/api/tickets", {"Origin": ALLOWED, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "\x01junk,,,;" * 50})
    check(status == 204, f"a preflight with junk request headers: {status}")
    # An OPTIONS without Access-Control-Request-Method is no preflight: it goes its usual way.
    status, headers, _ = send("OPTIONS", "/api/tickets", {"Origin": ALLOWED})
    check(status != 204, f"a plain OPTIONS was answered as a preflight ({status})")


def answers(token):
    cases = [
        ("GET", "/api/booking/health", {}, None, 200),                 # public, the service's
        ("GET", "/api/tickets", {"Authorization": f"Bearer {token}"}, None, 200),  # gated, the service's
        ("GET", "/api/tickets", {}, None, 401),                          # nginx's own 401
        ("GET", "/api/users/me", {"Authorization": "Bearer not.a.token"}, None, 401),
        ("GET", "/api/no/such/route", {}, None, 404),                    # nginx's own 404
        ("PUT", "/api/auth/login", {}, None, 405),                       # nginx's own 405
        ("POST", "/api/auth/login", {"Content-Type": "application/json"}, b"{" + b" " * 70000 + b"}", 413),
        ("POST", "/api/auth/login", {"Content-Type": "application/json"}, b"{}", 400),  # the service's 400
        ("GET", "/openapi.yaml", {}, None, 200),                         # nginx's own file
    ]
    for method, path, headers, body, expected in cases:
        status, got, _ = send(method, path, {"Origin": ALLOWED, **headers}, body)
        check(status == expected, f"{method} {path} from an allowed origin: {status}, expected {expected}")
        answered_for(ALLOWED, status, got, f"{method} {path}")
        if status == 405:
            check(got.get("allow") == "POST", f"the 405 lost its Allow header: {got.get('allow')!r}")
        if status == 401 and "Authorization" not in headers:
            check(got.get("www-authenticate", "").startswith("Bearer"), "nginx's 401 lost WWW-Authenticate")
        status, got, _ = send(method, path, {"Origin": FOREIGN, **headers}, body)
        check(status == expected, f"{method} {path} from a foreign origin: {status}, expected {expected}")
        check(not cors_headers(got), f"{method} {path} from a foreign origin carried {cors_headers(got)}")
        status, got, _ = send(method, path, headers, body)
        check(not cors_headers(got) and "origin" not in got.get("vary", "").lower(), f"{method} {path} without an Origin carried {cors_headers(got)} / Vary {got.get('vary')!r}")
    # A retried broadcast: Idempotent-Replayed is among the exposed headers the browser may read.
    check("Idempotent-Replayed" in EXPOSED, "Idempotent-Replayed is not exposed")


def rate_limited():
    """nginx's own 429, from a loopback address of this test's own (the limit is per address, so
    the other tests, from 127.0.0.1, are not slowed): empty logins, which auth refuses at once
    (400, before any password is looked at), sent by several connections until the login route's
    rate is passed."""
    source = "127.0.0.77"
    found = []
    stop = threading.Event()

    def hammer():
        connection = http.client.HTTPConnection(URL.hostname, URL.port, timeout=15, source_address=(source, 0))
        try:
            for _ in range(3000):
                if stop.is_set():
                    return
                connection.request("POST", "/api/auth/login", body=b"{}", headers={"Origin": ALLOWED, "Content-Type": "application/json"})
                reply = connection.getresponse()
                reply.read()
                if reply.status == 429:
                    found.append({name.lower(): value for name, value in reply.getheaders()})
                    stop.set()
        finally:
            connection.close()

    workers = [threading.Thread(target=hammer) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if not check(found, "no 429 from nginx after 24,000 logins from one address"):
        return
    headers = found[0]
    answered_for(ALLOWED, 429, headers, "nginx's 429")
    check(headers.get("retry-after") == "1", f"nginx's 429 lost Retry-After: {headers.get('retry-after')!r}")


def upgrade(path, origin):
    """The status line of a WebSocket upgrade of `path` with `origin` (None: no Origin header)."""
    with socket.create_connection((URL.hostname, URL.port), timeout=10) as raw:
        lines = [f"GET {path} HTTP/1.1", f"Host: {URL.hostname}:{URL.port}", "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]
        if origin is not None:
            lines.append(f"Origin: {origin}")
        raw.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n" not in data:
            chunk = raw.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.split(b"\r\n", 1)[0].decode(errors="replace"), data


def websockets(token):
    own = f"http://{URL.hostname}:{URL.port}"
    for path in [f"/ws?token={token}", "/socket.io/?EIO=4&transport=websocket"]:
        for origin in [None, ALLOWED, own, own.replace("http:", "https:"), f"ws://{URL.hostname}"]:
            line, _ = upgrade(path, origin)
            check(" 101 " in line, f"upgrade of {path.split('?')[0]} with Origin {origin!r}: {line}")
        for origin in [FOREIGN, "http://localhost:5174", "null", f"http://{URL.hostname}:{URL.port}.evil.example"]:
            line, data = upgrade(path, origin)
            check(" 403 " in line and b"origin_not_allowed" in data, f"upgrade of {path.split('?')[0]} with Origin {origin!r}: {line}")


def template_adds_headers_in_one_place():
    """Every header nginx adds is added in the server block alone: a location with an add_header
    of its own would drop the CORS headers from its answers."""
    here = os.path.dirname(__file__)
    with open(os.path.join(here, "..", "..", "nginx", "guildhall.conf.template")) as template:
        lines = [line for line in template if re.match(r"\s*add_header\b", line)]
    check(lines and all(line.startswith("    add_header") and not line.startswith("     ") for line in lines),
          f"add_header inside a location: {[line.strip() for line in lines if line.startswith('     ')]}")


def the_setting_is_checked_at_start():
    """CORS_ALLOWED_ORIGINS as scripts/lib.sh and compose's nginx image read it (nginx/cors.sh):
    exact origins become map entries; a wildcard or anything that is no origin stops the start."""
    script = os.path.join(os.path.dirname(__file__), "..", "..", "nginx", "cors.sh")

    def entries(value):
        done = subprocess.run(["bash", "-c", f'source "{script}" && guildhall_cors_map_entries "$1"', "cors", value], capture_output=True, text=True)
        return done.returncode, done.stdout, done.stderr

    code, out, _ = entries(" http://localhost:5173, https://App.Example.com:8443 ,,http://[::1]:3000")
    check(code == 0 and out.splitlines() == ['"http://localhost:5173" "http://localhost:5173";', '"https://app.example.com:8443" "https://app.example.com:8443";', '"http://[::1]:3000" "http://[::1]:3000";'], f"origins → entries: {code} {out!r}")
    check(entries("") == (0, "", ""), "an empty list is no origin at all")
    for bad in ["*", "http://localhost:5173,*", "https://*.example.com", "localhost:5173", "http://x.example/path", "ftp://x.example", 'http://x"; }', "null"]:
        code, out, err = entries(bad)
        check(code != 0 and out == "" and "CORS_ALLOWED_ORIGINS" in err, f"{bad!r} was taken: {code} {out!r} {err!r}")


def main():
    the_setting_is_checked_at_start()
    token = login(*ADMIN)
    template_adds_headers_in_one_place()
    preflights(token)
    answers(token)
    websockets(token)
    rate_limited()


if __name__ == "__main__":
    run("CORS test", main)
