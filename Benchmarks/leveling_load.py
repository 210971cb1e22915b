#!/usr/bin/env python3
"""The bot's XP events under load, on the leveling replicas' private listeners
(`POST /internal/leveling/events/batch` and `POST /internal/leveling/events`), then a check
of every answer against what was sent and against PostgreSQL. Prints one JSON object.

    python3 Benchmarks/leveling_load.py events --urls http://127.0.0.1:P1,http://127.0.0.1:P2 \
        --secret … --base http://127.0.0.1:8080 --admin admin --password … --database-url postgres://…
    python3 Benchmarks/leveling_load.py cpu --watch postgres=123 --watch leveling=456,789

`events` runs two phases over the same members, each for --duration seconds:
  1. batches of --batch-size events from --batch-clients clients in a closed loop;
  2. single events from --connections connections in a closed loop;
requests go round-robin over the replicas. Each member has its own clock that moves on by a
random gap (exponential, --mean-gap seconds) per event, so some of its messages and commands fall
within their cooldown and some do not; --late-fraction of the events happened up to ten minutes
before the member's clock (late, as a bot catching up sends them), and --retry-fraction of the
requests' events are earlier events sent again unchanged (same event_id), in the same phase or the
other, on either replica.

Then, from what was sent and answered (every member, every event):
  - a rewarded message (command) is never within 60 (30) s of another rewarded one of the member,
    by occurred_at; an unrewarded one always is (otherwise XP was wrongly withheld);
  - each event earns 0 or its full amount (message 15, command 5, voice 10 a minute), and the
    level answered is the level of the total answered;
  - every copy of an event_id is answered identically;
  - each member's XP in PostgreSQL equals the sum of what its events were answered, and the
    largest total_xp answered;
  - for --sample members, GET /api/leveling/users/{id} (as admin, through nginx) answers that XP,
    and the member's XP history (GET /api/leveling/xp-history/{id}, every page) adds up to it.

`cpu` prints the CPU seconds used so far by each named group of processes (with all their
descendants), for the caller to take differences.
"""
import argparse
import asyncio
import bisect
import json
import os
import random
import subprocess
import sys
import time

import aiohttp
from bench_common import login, percentile as _percentile, run_measuring


def percentile(values, fraction):
    return _percentile(values, fraction, empty=0.0)

SOURCES = ("message", "command", "voice")
AMOUNT = {"message": 15, "command": 5}
VOICE_PER_MINUTE = 10
COOLDOWN = {"message": 60, "command": 30, "voice": 0}
MEMBER_PREFIX = "3"  # members of this run: "3" and 17 digits (the seeded leaderboard uses "1")


def level_for(xp, quadratic=100, linear=50, maximum=100):
    """LevelCurve.level(for:) with the service's defaults."""
    low, high = 0, maximum
    while low < high:
        middle = (low + high + 1) // 2
        if quadratic * middle * middle + linear * middle <= xp:
            low = middle
        else:
            high = middle - 1
    return low




# ---- CPU accounting ------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_table():
    """pid -> (ppid, CPU ticks) for every process."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as file:
                text = file.read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        table[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def cpu_seconds(groups):
    """{group: CPU seconds used by its processes and their descendants}."""
    table = process_table()
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    used = {}
    for name, roots in groups.items():
        seen = set()
        stack = [pid for pid in roots if pid in table]
        while stack:
            pid = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            stack.extend(children.get(pid, []))
        used[name] = sum(table[pid][1] for pid in seen) / CLOCK_TICKS
    return used


def parse_groups(specs):
    groups = {}
    for spec in specs or []:
        name, _, pids = spec.partition("=")
        groups[name] = [int(pid) for pid in pids.split(",") if pid.strip()]
    return groups


class CPUWindow:
    """CPU used by each group (and by this client) between start and stop, in cores."""

    def __init__(self, groups):
        self.groups = groups

    def start(self):
        self.began = time.monotonic()
        self.before = cpu_seconds(self.groups)
        self.client_before = sum(os.times()[:2])

    def stop(self):
        elapsed = time.monotonic() - self.began
        after = cpu_seconds(self.groups)
        cores = {name: round((after[name] - self.before[name]) / elapsed, 2) for name in self.groups}
        cores["client"] = round((sum(os.times()[:2]) - self.client_before) / elapsed, 2)
        return cores


# ---- the events ------------------------------------------------------------------------------

class Event:
    __slots__ = ("event_id", "member", "source", "at", "minutes", "body")

    def __init__(self, event_id, member, source, at, minutes, body):
        self.event_id = event_id
        self.member = member
        self.source = source
        self.at = at
        self.minutes = minutes
        self.body = body


class Generator:
    """Members' events on their own clocks, with late events and retries of earlier ones."""

    def __init__(self, members, mean_gap, late_fraction, retry_fraction, seed, prefix=MEMBER_PREFIX, id_prefix="bench"):
        self.id_prefix = id_prefix
        self.random = random.Random(seed)
        self.ids = [f"{prefix}{index:0{18 - len(prefix)}d}" for index in range(members)]
        now = int(time.time())
        # Each member's clock starts somewhere in the last three days (events may be 30 days old).
        self.clock = [now - 3 * 86_400 + self.random.randrange(0, 2 * 86_400) for _ in range(members)]
        self.mean_gap = mean_gap
        self.late_fraction = late_fraction
        self.retry_fraction = retry_fraction
        self.recent = []       # a ring of issued events, for retries
        self.recent_next = 0
        self.issued = 0
        self.retries = 0

    def next(self):
        rng = self.random
        if self.recent and rng.random() < self.retry_fraction:
            self.retries += 1
            return self.recent[rng.randrange(len(self.recent))]
        member = rng.randrange(len(self.ids))
        self.clock[member] += 1 + int(rng.expovariate(1 / self.mean_gap))
        at = self.clock[member]
        if rng.random() < self.late_fraction:
            at -= rng.randrange(1, 600)
        pick = rng.random()
        minutes = None
        if pick < 0.7:
            source = "message"
        elif pick < 0.9:
            source = "command"
        else:
            source = "voice"
            minutes = rng.randint(1, 60)
        self.issued += 1
        event_id = f"{self.id_prefix}-{self.issued}"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
        extra = f',"minutes":{minutes}' if minutes is not None else ""
        body = (f'{{"discord_id":"{self.ids[member]}","source":"{source}","occurred_at":"{stamp}",'
                f'"event_id":"{event_id}"{extra}}}')
        event = Event(event_id, member, source, at, minutes, body)
        if len(self.recent) < 20_000:
            self.recent.append(event)
        else:
            self.recent[self.recent_next] = event
            self.recent_next = (self.recent_next + 1) % len(self.recent)
        return event


class Phase:
    def __init__(self, name):
        self.name = name
        self.records = []      # (events, status, raw reply) as answered
        self.latencies = []    # ms per request
        self.failures = []     # descriptions of failed requests (first few kept)
        self.failed = 0
        self.events_answered = 0
        self.requests = 0

    def fail(self, text):
        self.failed += 1
        if len(self.failures) < 5:
            self.failures.append(text)


async def post(session, url, headers, events, body, phase):
    started = time.monotonic()
    try:
        async with session.post(url, data=body, headers=headers) as reply:
            raw = await reply.read()
            status = reply.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        phase.fail(f"{url}: {error!r}")
        return
    phase.requests += 1
    if status != 200:
        phase.fail(f"{url}: {status} {raw[:300]!r}")
        return
    phase.latencies.append((time.monotonic() - started) * 1000)
    phase.events_answered += len(events)
    phase.records.append((events, raw))


async def batch_client(index, session, urls, headers, generator, batch_size, phase, stop):
    turn = index
    while not stop.is_set():
        events = [generator.next() for _ in range(batch_size)]
        body = ('{"events":[' + ",".join(event.body for event in events) + "]}").encode()
        url = urls[turn % len(urls)] + "/internal/leveling/events/batch"
        turn += 1
        await post(session, url, headers, events, body, phase)


async def single_client(index, session, urls, headers, generator, phase, stop):
    url = urls[index % len(urls)] + "/internal/leveling/events"
    while not stop.is_set():
        event = generator.next()
        await post(session, url, headers, [event], event.body.encode(), phase)


async def run_phase(phase, clients, duration, watch):
    stop = asyncio.Event()
    window = CPUWindow(watch)
    window.start()
    began = time.monotonic()
    tasks = [asyncio.create_task(client(stop)) for client in clients]
    await asyncio.sleep(duration)
    stop.set()
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - began
    cpu = window.stop()
    return {
        "seconds": round(elapsed, 2),
        "requests": phase.requests,
        "failed": phase.failed,
        "failures": phase.failures,
        "events": phase.events_answered,
        "events_per_second": round(phase.events_answered / elapsed, 1),
        "requests_per_second": round(phase.requests / elapsed, 1),
        "ms_p50": round(percentile(phase.latencies, 0.50), 2),
        "ms_p99": round(percentile(phase.latencies, 0.99), 2),
        "ms_max": round(max(phase.latencies) if phase.latencies else 0, 2),
        "cpu_cores": cpu,
    }


# ---- the checks ------------------------------------------------------------------------------

def check_answers(phases, members):
    """Every answer against what was sent; returns (counts, expected XP per member index)."""
    answers = {}               # event_id -> (event, answer tuple)
    counts = dict(events_answered=0, retries_answered=0, retries_different=0, results_missing=0,
                  wrong_amount=0, wrong_level=0)
    for phase in phases:
        for events, raw in phase.records:
            body = json.loads(raw)
            results = body["results"] if "results" in body else [body]
            if len(results) != len(events):
                counts["results_missing"] += abs(len(events) - len(results))
            for event, result in zip(events, results):
                counts["events_answered"] += 1
                answer = (result["xp_awarded"], result["total_xp"], result["level"], result["leveled_up"])
                known = answers.get(event.event_id)
                if known is None:
                    answers[event.event_id] = (event, answer)
                else:
                    counts["retries_answered"] += 1
                    if known[1] != answer:
                        counts["retries_different"] += 1

    by_member = {}
    for event, answer in answers.values():
        by_member.setdefault(event.member, []).append((event, answer))

    cooldown_violations = 0
    wrongly_withheld = 0
    rewarded = 0
    withheld = 0
    expected = {}
    largest_total = {}
    for member, entries in by_member.items():
        xp = 0
        largest = 0
        times = {"message": [], "command": []}
        for event, (awarded, total, level, _) in entries:
            full = event.minutes * VOICE_PER_MINUTE if event.source == "voice" else AMOUNT[event.source]
            if awarded not in (0, full) or (event.source == "voice" and awarded != full):
                counts["wrong_amount"] += 1
            if level != level_for(total):
                counts["wrong_level"] += 1
            xp += awarded
            largest = max(largest, total)
            if awarded > 0:
                rewarded += 1
                if event.source in times:
                    times[event.source].append(event.at)
            else:
                withheld += 1
        expected[member] = xp
        largest_total[member] = largest
        for source, stamps in times.items():
            stamps.sort()
            cooldown = COOLDOWN[source]
            cooldown_violations += sum(1 for a, b in zip(stamps, stamps[1:]) if b - a < cooldown)
        # An unrewarded message or command must have a rewarded one of its kind within the cooldown.
        for event, (awarded, _, _, _) in entries:
            if awarded == 0 and event.source in times:
                stamps = times[event.source]
                cooldown = COOLDOWN[event.source]
                position = bisect.bisect_left(stamps, event.at - cooldown + 1)
                if position >= len(stamps) or stamps[position] > event.at + cooldown - 1:
                    wrongly_withheld += 1
    counts.update(
        distinct_events=len(answers), members_with_events=len(by_member), rewarded=rewarded, withheld=withheld,
        cooldown_violations=cooldown_violations, wrongly_withheld=wrongly_withheld,
        total_not_largest_answered=sum(1 for member in expected if largest_total[member] != expected[member]),
    )
    return counts, expected


def stored_xp(database_url):
    """discord_id -> xp of this run's members, from PostgreSQL."""
    out = subprocess.run(
        ["psql", "-X", "-q", "-t", "-A", "-F", " ", database_url, "-c",
         f"SELECT discord_id, xp FROM leveling.profiles WHERE discord_id LIKE '{MEMBER_PREFIX}%'"],
        check=True, capture_output=True, text=True,
    ).stdout
    stored = {}
    for line in out.splitlines():
        if line.strip():
            discord_id, xp = line.split()
            stored[discord_id] = int(xp)
    return stored




async def check_through_api(session, base, token, members, expected_xp):
    """For each member: its profile's XP through nginx, and its history's sum, page by page."""
    headers = {"Authorization": f"Bearer {token}"}
    mismatches = []

    async def one(discord_id, expected):
        async with session.get(f"{base}/api/leveling/users/{discord_id}", headers=headers) as reply:
            if reply.status != 200:
                mismatches.append(f"{discord_id}: profile {reply.status}")
                return
            profile = await reply.json()
        history = 0
        entries = 0
        cursor = None
        while True:
            url = f"{base}/api/leveling/xp-history/{discord_id}?limit=200" + (f"&cursor={cursor}" if cursor else "")
            async with session.get(url, headers=headers) as reply:
                if reply.status != 200:
                    mismatches.append(f"{discord_id}: history {reply.status}")
                    return
                page = await reply.json()
            history += sum(item["amount"] for item in page["items"])
            entries += len(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                break
        if not (profile["xp"] == history == expected):
            mismatches.append(f"{discord_id}: profile {profile['xp']}, history {history} ({entries} entries), answered {expected}")

    pending = [one(discord_id, expected_xp[discord_id]) for discord_id in members]
    for start in range(0, len(pending), 16):
        await asyncio.gather(*pending[start:start + 16])
    return mismatches


async def events_command(args):
    urls = [url.rstrip("/") for url in args.urls.split(",") if url]
    headers = {"Authorization": f"Bearer {args.secret}", "Content-Type": "application/json"}
    watch = parse_groups(args.watch)
    generator = Generator(args.members, args.mean_gap, args.late_fraction, args.retry_fraction, args.seed)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # A short warm-up on both replicas (connections, prepared plans), not counted or checked.
        warm = Phase("warm-up")
        warm_generator = Generator(200, args.mean_gap, 0, 0, args.seed + 1, prefix=MEMBER_PREFIX + "9", id_prefix="warm")
        for turn in range(4):
            events = [warm_generator.next() for _ in range(100)]
            body = ('{"events":[' + ",".join(event.body for event in events) + "]}").encode()
            await post(session, urls[turn % len(urls)] + "/internal/leveling/events/batch", headers, events, body, warm)
        if warm.failed:
            raise SystemExit(f"warm-up failed: {warm.failures}")

        batch = Phase("batch")
        batch_result = await run_phase(batch, [
            (lambda stop, index=index: batch_client(index, session, urls, headers, generator, args.batch_size, batch, stop))
            for index in range(args.batch_clients)
        ], args.duration, watch)
        batch_result["retries_sent"] = generator.retries
        retries_before = generator.retries

        single = Phase("single")
        single_result = await run_phase(single, [
            (lambda stop, index=index: single_client(index, session, urls, headers, generator, single, stop))
            for index in range(args.connections)
        ], args.duration, watch)
        single_result["retries_sent"] = generator.retries - retries_before

        counts, expected = check_answers([batch, single], args.members)
        stored = stored_xp(args.database_url)
        expected_by_id = {generator.ids[member]: xp for member, xp in expected.items()}
        xp_mismatch = sum(1 for discord_id, xp in expected_by_id.items() if stored.get(discord_id) != xp)
        # Members whose events all went unanswered may still have a row; every stored one must be accounted for.
        unexpected_rows = sum(1 for discord_id in stored if discord_id not in expected_by_id and not discord_id.startswith(MEMBER_PREFIX + "9"))

        token = await login(session, args.base, args.admin, args.password)
        sample = random.Random(args.seed + 2).sample(sorted(expected_by_id), min(args.sample, len(expected_by_id)))
        api_mismatches = await check_through_api(session, args.base, token, sample, expected_by_id)

    print(json.dumps({
        "members": args.members,
        "replicas": len(urls),
        "batch_size": args.batch_size,
        "batch_clients": args.batch_clients,
        "connections": args.connections,
        "batch": batch_result,
        "single": single_result,
        "checks": dict(counts, stored_xp_not_answered_sum=xp_mismatch, unexpected_rows=unexpected_rows,
                       api_sample=len(sample), api_mismatches=len(api_mismatches), api_mismatch_examples=api_mismatches[:5]),
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    events = commands.add_parser("events")
    events.add_argument("--urls", required=True, help="the leveling replicas' private listeners, comma-separated")
    events.add_argument("--secret", required=True)
    events.add_argument("--base", required=True, help="nginx")
    events.add_argument("--admin", required=True)
    events.add_argument("--password", required=True)
    events.add_argument("--database-url", required=True)
    events.add_argument("--members", type=int, default=20_000)
    events.add_argument("--duration", type=float, default=20)
    events.add_argument("--batch-size", type=int, default=500)
    events.add_argument("--batch-clients", type=int, default=4)
    events.add_argument("--connections", type=int, default=64)
    events.add_argument("--mean-gap", type=float, default=60, help="mean seconds between a member's events")
    events.add_argument("--late-fraction", type=float, default=0.1)
    events.add_argument("--retry-fraction", type=float, default=0.03)
    events.add_argument("--sample", type=int, default=200, help="members checked through the API")
    events.add_argument("--seed", type=int, default=1)
    events.add_argument("--watch", action="append", help="name=pid,pid: a group of processes whose CPU to report")
    cpu = commands.add_parser("cpu")
    cpu.add_argument("--watch", action="append", required=True)
    args = parser.parse_args()

    if args.command == "cpu":
        print(json.dumps({name: round(seconds, 3) for name, seconds in cpu_seconds(parse_groups(args.watch)).items()}))
        return
    run_measuring(events_command(args))


if __name__ == "__main__":
    sys.exit(main())
