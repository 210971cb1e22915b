"""What the socket.io tests share: the stack's address and admin, checks that are counted and
reported at the end, waiting for a condition, and the HTTP API (users and their tokens)."""

import os
import sys
import threading
import time
import uuid

import requests

BASE = os.environ["GUILDHALL_BASE_URL"].rstrip("/")
ADMIN = (os.environ["GUILDHALL_ADMIN_USERNAME"], os.environ["GUILDHALL_ADMIN_PASSWORD"])
# Between the packets of an Engine.IO polling payload.
RS = "\x1e"

lock = threading.Lock()
_checks = 0
_failures = []
# The name and password behind each token made_user made.
credentials = {}


def check(condition, what):
    """Records one check; a failed one is reported at the end."""
    global _checks
    with lock:
        _checks += 1
        if not condition:
            _failures.append(what)
    return condition


def eventually(condition, timeout=10.0, every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


_http = requests.Session()


def api(method, path, token=None, body=None, expect=200):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reply = _http.request(method, BASE + path, json=body, headers=headers, timeout=15)
    if reply.status_code != expect:
        raise AssertionError(f"{method} {path} answered {reply.status_code}: {reply.text[:300]}")
    return reply.json() if reply.text else None


def login(username, password):
    return api("POST", "/api/auth/login", body={"username": username, "password": password})["token"]


def make_user(admin_token):
    """A new user, logged in: (user id, token)."""
    name = f"sio-{uuid.uuid4().hex[:12]}"
    user = api("POST", "/api/users", admin_token, {"username": name, "password": f"password-{name}", "role": "user"}, expect=201)
    token = login(name, f"password-{name}")
    credentials[token] = (name, f"password-{name}")
    return user["user_id"], token


def run(name, main):
    """Runs `main`, prints the summary line (and the failed checks) and exits 1 if any failed."""
    started = time.monotonic()
    try:
        main()
    except Exception as error:  # a step that could not run at all
        _failures.append(f"{type(error).__name__}: {error}")
    elapsed = time.monotonic() - started
    for failure in _failures:
        print(f"  FAILED: {failure}", file=sys.stderr)
    status = "passed" if not _failures else f"FAILED ({len(_failures)} failed)"
    print(f"{name}: {_checks} checks {status} in {elapsed:.0f} s")
    sys.exit(1 if _failures else 0)
