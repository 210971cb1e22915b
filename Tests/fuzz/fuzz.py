"""Fuzzes every operation of openapi.yaml against a running stack with schemathesis.

Runs `schemathesis run openapi.yaml --checks all` with a fixed seed and a bounded number of
examples, several times:

- through nginx as a plain user (a fresh account this script makes, with its own data);
- through nginx as an admin (GUILDHALL_ADMIN_USERNAME / GUILDHALL_ADMIN_PASSWORD);
- against each service's private listener (the operations tagged `<service>-internal`), with
  the internal secret (GUILDHALL_INTERNAL_SECRET), at the addresses of GUILDHALL_STACK_ENV.

Exits non-zero when any run reports a failure or an error. The stack is left as the tests
expect it: the admin's writes by id go to objects made here (guildhall_hooks.py), and the
ticket desk's settings are put back afterwards.

Settings (environment): GUILDHALL_FUZZ_SEED (default 1), GUILDHALL_FUZZ_EXAMPLES (examples per
operation, default 12), GUILDHALL_FUZZ_REPORTS (a folder for JUnit reports, optional).

Operations whose blind use would end the run (logout, an admin disabling the admin, changes to
the catalogue later tests book from) are redirected by the hooks, not excluded. One operation is
excluded: `GET /ws` (openWebSocket). A complete upgrade turns the connection into a WebSocket that
stays open, which an HTTP fuzzer can only wait on until it times out; the WebSocket is tested by
the live tests (LiveAndEventsTests, LiveLimitsTests, Tests/socketio) and its refusals of
incomplete upgrades by ContractConformanceTests.
"""

import http.server
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CONTRACT = ROOT / "openapi.yaml"
CONFIG = HERE / "schemathesis.toml"
SERVICES = ["auth", "booking", "tickets", "leveling", "notify"]


def fail(message):
    print(f"fuzz: error: {message}", file=sys.stderr)
    sys.exit(1)


def require(name):
    value = os.environ.get(name)
    if not value:
        fail(f"{name} is not set (run through scripts/test, or scripts/fuzz against a running stack)")
    return value


def call(method, url, token=None, body=None, expect=(200, 201)):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    except OSError as error:
        fail(f"{method} {url}: {error}")
    if status not in expect:
        fail(f"{method} {url} answered {status}: {text[:300]}")
    return json.loads(text) if text else None


def stack_env(path):
    values = {}
    for line in Path(path).read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def login(base, username, password):
    return call("POST", base + "/api/auth/login", body={"username": username, "password": password})


def make_user(base, admin_token, prefix, role="user"):
    name = f"{prefix}-{secrets.token_hex(4)}"
    password = "fuzz-" + secrets.token_hex(8)
    created = call("POST", base + "/api/users", admin_token, {"username": name, "password": password, "role": role})
    return name, password, created.get("user_id") or created["account"]["user_id"]


def own_catalogue(base, admin_token, tag):
    """Objects of the fuzzer's own that its admin may change by id."""
    call("POST", base + "/api/booking/vms", admin_token,
         {"id": f"fuzz-vm-{tag}", "name": "Fuzz VM", "region": "fuzz", "cpu": 1, "memory": 1})
    call("POST", base + "/api/booking/services", admin_token,
         {"id": f"fuzz-service-{tag}", "type": "fuzz", "name": "Fuzz service", "price_per_hour": 1})
    call("POST", base + "/api/booking/shop/packs", admin_token,
         {"id": f"fuzz-pack-{tag}", "name": "Fuzz pack", "hours": 1, "price": 1})
    call("POST", base + "/api/leveling/tools", admin_token,
         {"id": f"fuzz-tool-{tag}", "name": "Fuzz tool", "unlock_level": 100})
    return {"vm_id": f"fuzz-vm-{tag}", "service_id": f"fuzz-service-{tag}",
            "pack_id": f"fuzz-pack-{tag}", "tool_id": f"fuzz-tool-{tag}"}


class FakeFCM(http.server.BaseHTTPRequestHandler):
    """Google's side of push while the fuzzer runs (the tests start their own fake afterwards):
    the OAuth2 token endpoint and FCM's `messages:send`, taking every message."""

    def do_POST(self):  # noqa: N802 - the standard library's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/token":
            body = {"access_token": "fuzz-" + secrets.token_hex(8), "token_type": "Bearer", "expires_in": 3600}
        elif self.path.endswith("/messages:send"):
            body = {"name": f"projects/fuzz/messages/{secrets.randbelow(10**12)}"}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def start_fake_fcm():
    """Serves FakeFCM on GUILDHALL_FAKE_FCM_PORT (when the stack was given one), until the end."""
    port = os.environ.get("GUILDHALL_FAKE_FCM_PORT")
    if not port:
        return None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), FakeFCM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def forget_failed_logins():
    """Clears the login brake's counters (auth's keys in the stack's Redis, GUILDHALL_STACK_REDIS_URL),
    so the fuzzer's failed logins do not count against the tests that run after it."""
    url = os.environ.get("GUILDHALL_STACK_REDIS_URL")
    if not url:
        return
    keys = subprocess.run(["redis-cli", "-u", url, "--scan", "--pattern", "guildhall:auth:login-failures:*"],
                          capture_output=True, text=True, check=False).stdout.split()
    if keys:
        subprocess.run(["redis-cli", "-u", url, "del", *keys], capture_output=True, check=False)


def schemathesis(label, url, token, secret, selection, env, reports):
    seed = os.environ.get("GUILDHALL_FUZZ_SEED", "1")
    examples = os.environ.get("GUILDHALL_FUZZ_EXAMPLES", "12")
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color",
        "run", str(CONTRACT),
        "--url", url,
        "--checks", "all",
        "--seed", seed,
        "--max-examples", examples,
        "--workers", "1",
        "--no-shrink",
        "--request-timeout", "15",
        *selection,
    ]
    if reports:
        command += ["--report", "junit", "--report-junit-path", str(Path(reports) / f"fuzz-{label}.xml")]
    print(f"fuzz: {label}: schemathesis against {url} (seed {seed}, {examples} examples an operation)", flush=True)
    started = time.monotonic()
    env = dict(env, GUILDHALL_FUZZ_TOKEN=token, GUILDHALL_FUZZ_SECRET=secret)
    with tempfile.TemporaryDirectory(prefix="guildhall-fuzz-") as scratch:
        result = subprocess.run(command, env=env, cwd=scratch)
    print(f"fuzz: {label}: {'passed' if result.returncode == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s", flush=True)
    return result.returncode == 0


def main():
    base = require("GUILDHALL_BASE_URL").rstrip("/")
    admin_name = require("GUILDHALL_ADMIN_USERNAME")
    admin_password = require("GUILDHALL_ADMIN_PASSWORD")
    secret = require("GUILDHALL_INTERNAL_SECRET")
    addresses = stack_env(require("GUILDHALL_STACK_ENV"))
    reports = os.environ.get("GUILDHALL_FUZZ_REPORTS")
    only = os.environ.get("GUILDHALL_FUZZ_ONLY", "")  # e.g. "user,admin,booking-internal", for a run by hand

    admin = login(base, admin_name, admin_password)
    admin_token = admin["token"]
    admin_id = admin["account"]["user_id"]
    user_name, user_password, user_id = make_user(base, admin_token, "fuzz-user")
    user_token = login(base, user_name, user_password)["token"]
    session_name, session_password, _ = make_user(base, admin_token, "fuzz-session")
    _, _, victim_id = make_user(base, admin_token, "fuzz-victim")
    # Whoever renames themselves (PATCH /api/users/me) does it as this user, not as the run's.
    renamed_name, renamed_password, _ = make_user(base, admin_token, "fuzz-renamed")
    renamed_token = login(base, renamed_name, renamed_password)["token"]
    # Hours to book with, so that a valid booking is not refused for want of them.
    for who in (user_id, admin_id):
        call("POST", base + "/api/booking/admin/grant", admin_token, {"user_id": who, "hours": 5000, "reason": "contract fuzzing"})
    tag = secrets.token_hex(3)
    own_ids = own_catalogue(base, admin_token, tag)
    desk = call("GET", base + "/api/tickets/config", admin_token)
    leveling = call("GET", base + "/api/leveling/config", admin_token)
    booking = call("GET", base + "/api/booking/config", admin_token)

    env = dict(os.environ)
    env.update({
        "SCHEMATHESIS_HOOKS": "guildhall_hooks",
        "PYTHONPATH": str(HERE) + os.pathsep + env.get("PYTHONPATH", ""),
        "FUZZ_BASE_URL": base,
        "FUZZ_PROTECTED_USERNAMES": ",".join([admin_name, user_name, session_name]),
        "FUZZ_PROTECTED_USER_IDS": ",".join([admin_id, user_id]),
        "FUZZ_VICTIM_USER_ID": victim_id,
        "FUZZ_SESSION_USERNAME": session_name,
        "FUZZ_SESSION_PASSWORD": session_password,
        "FUZZ_OWN_IDS": json.dumps(own_ids),
        "FUZZ_RENAMED_TOKEN": renamed_token,
    })
    public = ["--exclude-tag-regex", "-internal$", "--exclude-operation-id", "openWebSocket"]
    runs = [("user", base, user_token, public), ("admin", base, admin_token, public)]
    for service in SERVICES:
        runs.append((f"{service}-internal", addresses.get(f"{service.upper()}_1_INTERNAL_URL", ""), user_token,
                     ["--include-tag", f"{service}-internal"]))
    passed = True
    fcm = start_fake_fcm()
    try:
        for label, url, token, selection in runs:
            if only and label not in only.split(","):
                continue
            if not url:
                fail(f"{label}: no address in {os.environ['GUILDHALL_STACK_ENV']}")
            passed = schemathesis(label, url, token, secret, selection, env, reports) and passed
    finally:
        if fcm:
            fcm.shutdown()
            fcm.server_close()
        forget_failed_logins()
        # The desk's, leveling's and booking's settings as the tests expect them, whatever the admin's fuzzing set.
        fresh_admin = login(base, admin_name, admin_password)["token"]
        call("PUT", base + "/api/tickets/config", fresh_admin, desk)
        call("PUT", base + "/api/leveling/config", fresh_admin, leveling)
        call("PUT", base + "/api/booking/config", fresh_admin, booking)
    if not passed:
        fail("schemathesis found failures (above); each names a curl command that reproduces it")
    print("fuzz: every run passed")


if __name__ == "__main__":
    main()
