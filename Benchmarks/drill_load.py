"""Steady writes through nginx while scripts/drills breaks something, then an account of them.

Offers --rate writes a second on a fixed schedule (one attempt each, never retried): new users
(admin `POST /api/users`, which publishes auth.user_created for notify), staff replies in
tickets (`POST /api/tickets/{id}/send` with a client_message_id, tickets.message_created for
notify) and hour grants (`POST /api/booking/admin/grant` with an Idempotency-Key). Every write
carries a name of its own (username, client_message_id, grant reason), so afterwards PostgreSQL
says which of them exist, whatever the answer was.

The timeline comes from --marks, a file of `<name> <unix time>` lines: this client writes
`load_started`; the script appends `fault_started` and `fault_ended`; the load runs until
--after seconds past `fault_ended`. Then, --settle seconds later, it counts in PostgreSQL (psql):
acknowledged writes missing (lost), writes answered 5xx or not at all that are there anyway,
writes stored twice, outbox rows not yet published and events notify has not applied. Prints
one JSON object.

Standard library only.
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import percentile  # noqa: E402


class Client:
    """One keep-alive connection to nginx per thread."""

    def __init__(self, base, timeout):
        parts = urlsplit(base)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.local = threading.local()

    def request(self, method, path, body=None, token=None, headers=None):
        """(status, parsed body); status 0 when no answer came (refused, reset, timed out)."""
        all_headers = {"Content-Type": "application/json"}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        payload = json.dumps(body).encode() if body is not None else None
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.local.connection = connection
        try:
            connection.request(method, path, body=payload, headers=all_headers)
            reply = connection.getresponse()
            data = reply.read()
            if reply.getheader("Connection", "").lower() == "close":
                connection.close()
                self.local.connection = None
            try:
                parsed = json.loads(data) if data else None
            except ValueError:
                parsed = None
            return reply.status, parsed
        except (OSError, http.client.HTTPException) as error:
            # One attempt, never retried: whether the write happened is for PostgreSQL to say.
            connection.close()
            self.local.connection = None
            return 0, {"error": type(error).__name__}


def read_marks(path):
    marks = {}
    try:
        with open(path) as file:
            for line in file:
                parts = line.split()
                if len(parts) == 2:
                    marks[parts[0]] = float(parts[1])
    except FileNotFoundError:
        pass
    return marks


def psql(args, sql):
    """Rows of `sql` as lists of strings."""
    result = subprocess.run([args.psql, "-X", "-q", "-At", "-F", "\t", "-d", args.database_url, "-c", sql],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise SystemExit(f"psql failed: {result.stderr.strip()}")
    return [line.split("\t") for line in result.stdout.splitlines() if line]


def set_up(args, client):
    """Logs the admin in; makes the users who own the tickets and receive the grants."""
    status, body = client.request("POST", "/api/auth/login", {"username": args.admin, "password": args.password})
    if status != 200:
        raise SystemExit(f"admin login: {status} {body}")
    admin = body["token"]
    owners, tickets = [], []
    for index in range(args.tickets):
        name, password = f"{args.tag}-owner{index}", "drill-" + uuid.uuid4().hex
        status, body = client.request("POST", "/api/users", {"username": name, "password": password, "role": "user"}, admin)
        if status != 201:
            raise SystemExit(f"creating {name}: {status} {body}")
        owners.append(body["user_id"])
        status, body = client.request("POST", "/api/auth/login", {"username": name, "password": password})
        if status != 200:
            raise SystemExit(f"login of {name}: {status} {body}")
        status, body = client.request("POST", "/api/tickets", {"subject": f"drill {args.tag} {index}", "category": "support",
                                                               "message": "opened for the drill"}, body["token"])
        if status != 201:
            raise SystemExit(f"opening a ticket for {name}: {status} {body}")
        tickets.append(body["ticket_id"])
    return admin, owners, tickets


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--admin", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--psql", default="psql")
    parser.add_argument("--marks", required=True)
    parser.add_argument("--tag", required=True, help="a prefix no other run's writes have (letters, digits, '-')")
    parser.add_argument("--rate", type=float, default=150)
    parser.add_argument("--after", type=float, default=12, help="seconds of load after the fault ends")
    parser.add_argument("--settle", type=float, default=5, help="seconds between the load's end and the counts")
    parser.add_argument("--tickets", type=int, default=8)
    parser.add_argument("--inflight", type=int, default=256, help="most unanswered writes; past it a write is not sent")
    parser.add_argument("--timeout", type=float, default=20)
    parser.add_argument("--max-seconds", type=float, default=120)
    args = parser.parse_args()

    client = Client(args.base, args.timeout)
    admin, owners, tickets = set_up(args, client)

    records = []  # (kind, name, sent, answered, status, target)
    refusals = {}  # "kind status code: message" → how many
    reasons = {}  # a refused write's name → its "kind status code: message"
    lock = threading.Lock()
    slots = threading.BoundedSemaphore(args.inflight)
    not_sent = 0

    def send(kind, name, target):
        if kind == "user":
            return client.request("POST", "/api/users", {"username": name, "password": "drill-password-1", "role": "user"}, admin)
        if kind == "message":
            return client.request("POST", f"/api/tickets/{target}/send", {"message": f"drill reply {name}", "client_message_id": name}, admin)
        return client.request("POST", "/api/booking/admin/grant", {"user_id": target, "hours": 1, "reason": name}, admin,
                              {"Idempotency-Key": name})

    def write(kind, name, target):
        sent = time.time()
        status, body = send(kind, name, target)
        with lock:
            records.append((kind, name, sent, time.time(), status, target))
            if not 200 <= status < 300:
                error = (body or {}).get("error") if isinstance(body, dict) else None
                reason = f"{error.get('code')}: {error.get('message')}" if isinstance(error, dict) else json.dumps(error or body)[:120]
                key = f"{kind} {status} {reason}"
                refusals[key] = refusals.get(key, 0) + 1
                reasons[name] = key
        slots.release()

    started = time.time()
    since = f"to_timestamp({started:.3f})"

    def not_applied_count():
        """Staff replies and new users of this run whose events notify has not applied."""
        return int(psql(args, f"""
            SELECT (SELECT count(*) FROM auth.outbox o WHERE o.type = 'auth.user_created' AND o.occurred_at >= {since}
                      AND NOT EXISTS (SELECT 1 FROM notify.processed_events p WHERE p.event_id = o.id))
                 + (SELECT count(*) FROM tickets.outbox o WHERE o.type = 'tickets.message_created' AND o.occurred_at >= {since}
                      AND (o.data ->> 'by_staff')::boolean
                      AND NOT EXISTS (SELECT 1 FROM notify.processed_events p WHERE p.event_id = o.id))
        """)[0][0])

    pool = ThreadPoolExecutor(max_workers=args.inflight)
    with open(args.marks, "a") as file:
        file.write(f"load_started {started:.3f}\n")
    index = 0
    ends_at = None
    # How far notify's consumer is behind, once a second: its lag when the fault begins is its lag without the fault.
    lag_samples = []
    sampling = threading.Event()

    def sample_lag():
        while not sampling.is_set():
            taken = time.time()
            try:
                lag_samples.append((taken, not_applied_count()))
            except BaseException:  # PostgreSQL away: no sample
                pass
            sampling.wait(max(0.0, taken + 1 - time.time()))

    threading.Thread(target=sample_lag, daemon=True).start()
    while True:
        now = time.time()
        if ends_at is None:
            fault_ended = read_marks(args.marks).get("fault_ended")
            if fault_ended is not None:
                ends_at = fault_ended + args.after
        if (ends_at is not None and now >= ends_at) or now - started > args.max_seconds:
            break
        due = started + index / args.rate
        if due > now:
            time.sleep(min(due - now, 0.05))
            continue
        kind = ("user", "message", "grant", "message", "grant")[index % 5]
        name = f"{args.tag}-{kind[0]}{index}"
        target = tickets[index % len(tickets)] if kind == "message" else owners[index % len(owners)]
        index += 1
        if not slots.acquire(blocking=False):
            not_sent += 1
            continue
        pool.submit(write, kind, name, target)
    load_ended = time.time()
    sampling.set()
    pool.shutdown(wait=True)
    answered_by = time.time()
    marks = read_marks(args.marks)
    fault_started, fault_ended = marks.get("fault_started"), marks.get("fault_ended")
    if fault_ended is None:
        raise SystemExit("the fault never ended (no fault_ended mark) within --max-seconds")

    # ---- what PostgreSQL holds -----------------------------------------------------------------
    time.sleep(max(0.0, load_ended + args.settle - time.time()))
    like = args.tag.replace("_", "\\_") + "-%"

    def stored_writes():
        """Each write of this run found in PostgreSQL → how many times it is stored."""
        found = {}
        for sql in (
            f"SELECT username, 1 FROM auth.users WHERE username LIKE '{like}'",
            f"SELECT client_message_id, count(*) FROM tickets.messages WHERE client_message_id LIKE '{like}' GROUP BY 1",
            f"SELECT reason, count(*) FROM booking.ledger WHERE kind = 'grant' AND reason LIKE '{like}' GROUP BY 1",
        ):
            for name, count in psql(args, sql):
                found[name] = int(count)
        return found

    stored = stored_writes()

    def outbox_and_consumption():
        unpublished = {schema: int(count) for schema, count in psql(args, " UNION ALL ".join(
            f"SELECT '{schema}', count(*) FROM {schema}.outbox WHERE published_at IS NULL"
            for schema in ("auth", "booking", "tickets", "leveling", "notify")))}
        return unpublished, not_applied_count()

    unpublished, not_applied = outbox_and_consumption()
    counted_at = time.time()

    drained_after = 0.0 if sum(unpublished.values()) == 0 and not_applied == 0 else None
    while drained_after is None and time.time() - counted_at < 30:
        time.sleep(0.5)
        later_unpublished, later_not_applied = outbox_and_consumption()
        if sum(later_unpublished.values()) == 0 and later_not_applied == 0:
            drained_after = time.time() - fault_ended

    # ---- each failed write tried once more, as a client would: with its key, it must not be stored twice ----
    failed = [record for record in records if not 200 <= record[4] < 300]
    retried = {}

    def retry(record):
        status, _ = send(record[0], record[1], record[5])
        with lock:
            retried[record[1]] = status

    with ThreadPoolExecutor(max_workers=32) as retries:
        list(retries.map(retry, failed))
    after_retry = stored_writes()
    retry_statuses = {}
    for status in retried.values():
        retry_statuses[str(status)] = retry_statuses.get(str(status), 0) + 1
    missing_after_retry = sum(1 for record in failed if after_retry.get(record[1], 0) == 0)
    twice_after_retry = sum(1 for count in after_retry.values() if count > 1)

    # ---- the account ---------------------------------------------------------------------------
    def klass(status):
        if 200 <= status < 300:
            return "2xx"
        if 400 <= status < 500:
            return "4xx"
        if status >= 500:
            return "5xx"
        return "none"

    counts = {"2xx": 0, "4xx": 0, "5xx": 0, "none": 0}
    statuses = {}
    lost, saved_after_failure, stored_after_4xx, duplicated = [], [], [], []
    for kind, name, sent, answered, status, _ in records:
        counts[klass(status)] += 1
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        present = stored.get(name, 0)
        if present > 1:
            duplicated.append(name)
        if klass(status) == "2xx" and present == 0:
            lost.append(name)
        elif klass(status) in ("5xx", "none") and present > 0:
            saved_after_failure.append((name, status))
        elif klass(status) == "4xx" and present > 0:
            stored_after_4xx.append((name, status))

    sent_at = {record[1]: record[2] for record in records}
    ordered = sorted(records, key=lambda record: record[2])
    after = [record for record in ordered if record[2] >= fault_ended]
    answered_2xx_after = [record[3] for record in records if klass(record[4]) == "2xx" and record[3] >= fault_ended]
    first_2xx = (min(answered_2xx_after) - fault_ended) if answered_2xx_after else None
    # Steady: the first moment from which every write sent in the next 3 s was answered 2xx.
    steady = None
    for start_index, record in enumerate(after):
        window = [other for other in after[start_index:] if other[2] < record[2] + 3]
        if record[2] + 3 > after[-1][2]:
            break
        if window and all(klass(other[4]) == "2xx" for other in window):
            steady = record[2] - fault_ended
            break
    during = [record for record in records if fault_started <= record[2] < fault_ended]
    failed_during = sum(1 for record in during if klass(record[4]) != "2xx")
    failed_after = sum(1 for record in after if klass(record[4]) != "2xx")
    latencies = sorted(record[3] - record[2] for record in records)
    durations = {}
    for record in records:
        durations.setdefault(record[0], []).append(record[3] - record[2])

    # Per second from the fault's start: writes sent that second, and how many were answered 2xx.
    timeline = []
    for second in range(int(fault_started - started) - 2, int(load_ended - started) + 1):
        sent_then = [record for record in records if started + second <= record[2] < started + second + 1]
        timeline.append([round(started + second - fault_started), len(sent_then), sum(1 for record in sent_then if klass(record[4]) == "2xx")])

    print(json.dumps({
        "tag": args.tag,
        "rate": args.rate,
        "seconds": round(load_ended - started, 1),
        "fault_started_s": round(fault_started - started, 2),
        "fault_seconds": round(fault_ended - fault_started, 2),
        "sent": len(records),
        "not_sent": not_sent,
        "counts": counts,
        "statuses": statuses,
        "by_kind": {kind: sum(1 for record in records if record[0] == kind) for kind in ("user", "message", "grant")},
        "failed_during_fault": failed_during,
        "failed_after_fault": failed_after,
        "lost_writes": len(lost),
        "lost_examples": lost[:5],
        "saved_after_5xx": len(saved_after_failure),
        "saved_after_5xx_statuses": {str(status): sum(1 for _, other in saved_after_failure if other == status)
                                     for status in sorted({status for _, status in saved_after_failure})},
        "saved_examples": [f"{name} sent {sent_at[name] - fault_started:+.2f} s from the fault's start ({reasons.get(name)})"
                           for name, _ in saved_after_failure[:8]],
        "stored_after_4xx": len(stored_after_4xx),
        "duplicated": len(duplicated),
        "unpublished_outbox": unpublished,
        "unpublished_total": sum(unpublished.values()),
        "events_not_applied": not_applied,
        "events_not_applied_at_fault_start": next((value for taken, value in reversed(lag_samples) if taken < fault_started), None),
        "retried": len(failed),
        "retry_statuses": retry_statuses,
        "missing_after_retry": missing_after_retry,
        "stored_twice_after_retry": twice_after_retry,
        "counted_s_after_fault": round(counted_at - fault_ended, 1),
        "drained_s_after_fault": None if drained_after is None else round(drained_after, 1),
        "first_2xx_s": None if first_2xx is None else round(max(first_2xx, 0.0), 2),
        "steady_2xx_s": None if steady is None else round(steady, 2),
        "latency_ms_p50": round(1000 * latencies[len(latencies) // 2], 1) if latencies else None,
        "latency_ms_max": round(1000 * latencies[-1], 1) if latencies else None,
        "latency_ms_p50_p99_by_kind": {kind: [round(1000 * percentile(durations[kind], fraction), 1) for fraction in (0.5, 0.99)]
                                       for kind in durations},
        "answered_within_s": round(answered_by - load_ended, 1),
        "refusals": dict(sorted(refusals.items(), key=lambda item: -item[1])[:12]),
        "saved_after_5xx_kinds": {kind: sum(1 for name, _ in saved_after_failure if name.startswith(f"{args.tag}-{kind[0]}"))
                                  for kind in ("user", "message", "grant")},
        "timeline_from_fault": timeline,
    }))


if __name__ == "__main__":
    sys.exit(main())
