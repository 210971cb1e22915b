"""Schemathesis hooks for fuzzing Guildhall (loaded through SCHEMATHESIS_HOOKS by fuzz.py).

The fuzzer may call every operation, but a few would otherwise end its own run or lock the
stack's accounts rather than test anything:

- logging in with a real account's name and a wrong password counts towards that account's
  brake (LOGIN_MAX_FAILURES_PER_USER): login bodies naming an account of the run get a name
  nobody has;
- logging out, or ending a session, would revoke the token the fuzzer works with: those calls
  carry a token of a throwaway session instead;
- an admin changing a user could disable, demote or re-password the admin or the fuzz user:
  those calls are aimed at a throwaway user instead;
- an admin changing or removing the shared catalogue (VMs, services, packs, tools) would change what later
  tests book: changes by id go to the objects the fuzzer made for itself.

And two rules that depend on the moment or on the stack's settings, which no schema can state,
are met by the values drawn, so that valid requests stay valid (values the schema already
refuses are left alone):

- a booking's `start_time` and availability's `start` must lie in the next 180 days: a valid
  time outside that window is moved into it; a bot event's `occurred_at` must lie within the
  last 7 days (and at most 5 minutes ahead): likewise;
- a ticket's `category` must be one of the desk's configured categories: a valid name is
  replaced by `other` (configured by default);
- booking's discount tiers go lowest `from_hours` first, each above the one before: valid
  tiers are put in that order;
- leveling's role rewards name each level at most once, up to the stack's top level
  (LEVELING_MAX_LEVEL, 100 here), and no level removes a role it adds: valid levels are spread
  over 1 to 100 and such roles taken out of `remove_roles`;
- a Discord login's `return_url` must be one the deployment allows (ALLOWED_RETURN_URLS): it
  is left out, so the platform's first is used;
- renaming oneself (`PATCH /api/users/me`) is done as a user of its own (FUZZ_RENAMED_TOKEN), so
  the run's users (the admin among them) keep the names the tests log in with;
- an `Idempotency-Key` used again with a different request is refused (422, as it must be),
  and the fuzzer draws few keys: a valid key gets a suffix from the request it goes with, so the
  same request keeps its key and a different one gets another.

Everything the hooks need comes from the environment fuzz.py sets (FUZZ_*).
"""

import hashlib
import json
import os
import random
import re
import secrets
import urllib.request
from datetime import datetime, timedelta, timezone

import schemathesis

BASE_URL = os.environ.get("FUZZ_BASE_URL", "")
PROTECTED_NAMES = {name for name in os.environ.get("FUZZ_PROTECTED_USERNAMES", "").split(",") if name}
PROTECTED_IDS = {value for value in os.environ.get("FUZZ_PROTECTED_USER_IDS", "").split(",") if value}
VICTIM_ID = os.environ.get("FUZZ_VICTIM_USER_ID", "")
SESSION_USER = os.environ.get("FUZZ_SESSION_USERNAME", "")
SESSION_PASSWORD = os.environ.get("FUZZ_SESSION_PASSWORD", "")
# Catalogue objects of the fuzzer's own, by path parameter.
OWN_IDS = json.loads(os.environ.get("FUZZ_OWN_IDS", "{}"))
RENAMED_TOKEN = os.environ.get("FUZZ_RENAMED_TOKEN", "")

# Operations that end the caller's session (or all of them).
SESSION_ENDING = {("POST", "/api/auth/logout"), ("DELETE", "/api/auth/sessions/{id}")}


def throwaway_token():
    """A fresh access token of the throwaway session user (None when it cannot log in)."""
    body = json.dumps({"username": SESSION_USER, "password": SESSION_PASSWORD}).encode()
    request = urllib.request.Request(
        BASE_URL + "/api/auth/login", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response).get("token")
    except Exception:  # noqa: BLE001 - the call then goes out with the token it had
        return None


CATEGORY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def within_event_window(value):
    """`value` moved into the last 7 days when it is an RFC 3339 time outside them."""
    moment = parsed_time(value)
    if moment is None:
        return value
    now = datetime.now(timezone.utc)
    if now - timedelta(days=6, hours=23) <= moment <= now + timedelta(minutes=4):
        return value
    return (now - timedelta(seconds=random.randint(60, 6 * 86400))).strftime("%Y-%m-%dT%H:%M:%SZ")


def parsed_time(value):
    """`value` as an aware time when it is an RFC 3339 time, else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def within_booking_window(value):
    """`value` moved into the next 180 days when it is an RFC 3339 time outside them."""
    moment = parsed_time(value)
    if moment is None:
        return value
    now = datetime.now(timezone.utc)
    if now + timedelta(hours=1) <= moment <= now + timedelta(days=179):
        return value
    start = (now + timedelta(days=random.randint(1, 170), hours=random.randint(0, 23))).replace(minute=0, second=0, microsecond=0)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,128}$")


def key_for_request(key, case):
    """A valid `Idempotency-Key` made specific to the request it goes with."""
    if not isinstance(key, str) or not IDEMPOTENCY_KEY.match(key):
        return key
    request = json.dumps([case.operation.method, case.formatted_path, case.query, case.body], sort_keys=True, default=str)
    return key[:100] + "-" + hashlib.sha256(request.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    method = case.operation.method.upper()
    path = case.operation.path
    if (method, path) == ("POST", "/api/auth/login") and isinstance(case.body, dict):
        if isinstance(case.body.get("username"), str) and case.body["username"] in PROTECTED_NAMES:
            case.body["username"] = "fuzz-nobody-" + secrets.token_hex(4)
    # (A call sent without the run's token, to see it refused, stays as it is.)
    run_token = "Bearer " + os.environ.get("GUILDHALL_FUZZ_TOKEN", "")
    if (method, path) in SESSION_ENDING and SESSION_USER and (case.headers or {}).get("Authorization") == run_token:
        token = throwaway_token()
        if token:
            case.headers["Authorization"] = "Bearer " + token
    if method == "PATCH" and path == "/api/users/{user_id}" and VICTIM_ID:
        if case.path_parameters and case.path_parameters.get("user_id") in PROTECTED_IDS:
            case.path_parameters["user_id"] = VICTIM_ID
    if method in {"PATCH", "PUT", "DELETE"} and case.path_parameters:
        for name, own in OWN_IDS.items():
            if name in case.path_parameters and isinstance(case.path_parameters[name], str):
                case.path_parameters[name] = own
    if (method, path) == ("PATCH", "/api/booking/vms") and isinstance(case.body, dict) and "vm_id" in OWN_IDS:
        if isinstance(case.body.get("id"), str):
            case.body["id"] = OWN_IDS["vm_id"]
    if (method, path) == ("POST", "/api/booking/bookings") and isinstance(case.body, dict) and "start_time" in case.body:
        case.body["start_time"] = within_booking_window(case.body["start_time"])
    if (method, path) == ("GET", "/api/booking/availability") and case.query and "start" in case.query:
        case.query["start"] = within_booking_window(case.query["start"])
    if (method, path) == ("POST", "/api/tickets") and isinstance(case.body, dict):
        category = case.body.get("category")
        if isinstance(category, str) and CATEGORY.match(category):
            case.body["category"] = "other"
    if (method, path) == ("PUT", "/api/leveling/config") and isinstance(case.body, dict):
        distinct_role_rewards(case.body.get("role_rewards"))
    if (method, path) == ("PUT", "/api/booking/config") and isinstance(case.body, dict):
        ascending_tiers(case.body.get("discount_tiers"))
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = key_for_request(case.headers["Idempotency-Key"], case)
    if (method, path) == ("PATCH", "/api/users/me") and RENAMED_TOKEN and (case.headers or {}).get("Authorization") == run_token:
        case.headers["Authorization"] = "Bearer " + RENAMED_TOKEN
    if (method, path) == ("GET", "/api/discord/auth") and case.query and "return_url" in case.query:
        del case.query["return_url"]
    if (method, path) == ("POST", "/internal/leveling/events") and isinstance(case.body, dict) and "occurred_at" in case.body:
        case.body["occurred_at"] = within_event_window(case.body["occurred_at"])
    if (method, path) == ("POST", "/internal/leveling/events/batch") and isinstance(case.body, dict):
        events = case.body.get("events")
        for event in events if isinstance(events, list) else []:
            if isinstance(event, dict) and "occurred_at" in event:
                event["occurred_at"] = within_event_window(event["occurred_at"])


def ascending_tiers(tiers):
    """Valid discount tiers (whole `from_hours` of 1 to 1000) sorted and made strictly rising."""
    if not isinstance(tiers, list) or not all(isinstance(tier, dict) for tier in tiers):
        return
    hours = [tier.get("from_hours") for tier in tiers]
    if not all(isinstance(h, (int, float)) and not isinstance(h, bool) and float(h).is_integer() and 1 <= h <= 1000 for h in hours):
        return
    if len(tiers) > 1000:
        return
    tiers.sort(key=lambda tier: tier["from_hours"])
    floor = 0
    for index, tier in enumerate(tiers):
        # Room for the tiers after it, below 1001.
        value = min(max(int(tier["from_hours"]), floor + 1), 1000 - (len(tiers) - 1 - index))
        tier["from_hours"] = value
        floor = value


def distinct_role_rewards(rewards):
    """Valid role-reward levels made distinct within 1 to 100; no level removes a role it adds."""
    if not isinstance(rewards, list):
        return
    used = set()
    for reward in rewards:
        if not isinstance(reward, dict):
            continue
        level = reward.get("level")
        # A whole number, also written as 12.0 (which JSON allows and the service takes).
        if isinstance(level, (int, float)) and not isinstance(level, bool) and float(level).is_integer() and level >= 1:
            level = (int(level) - 1) % 100 + 1
            while level in used and len(used) < 100:
                level = level % 100 + 1
            used.add(level)
            reward["level"] = level
        added, removed = reward.get("add_roles"), reward.get("remove_roles")
        if isinstance(added, list) and isinstance(removed, list):
            reward["remove_roles"] = [role for role in removed if role not in added]
