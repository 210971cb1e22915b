#!/usr/bin/env python3
"""Many WebSockets through nginx against the notify replicas: how many are held, how fast they
connect (and why any connect failed), what each costs in the replicas' memory, how long a
user's notification and a broadcast take from the request to every socket, and how long the
sockets of revoked sessions take to close: every user has two sessions, each holding half of
the user's sockets, and one session of every user is revoked at once (DELETE
/api/auth/sessions/{id} from the other). Prints one JSON object.

    python3 Benchmarks/notify_sockets.py --base http://127.0.0.1:8080 --admin admin --password … \
        --notify-internal http://127.0.0.1:PORT --secret … --notify-pids 123,456 --sockets 20000 --users 1000
"""
import argparse
import asyncio
import base64
import collections
import json
import multiprocessing
import random
import resource
import time
import uuid

import aiohttp
from bench_common import login, percentile, run_measuring


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def session_of(token):
    """The session id an access token names (`sid`)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"]


async def make_member(session, base, admin_token, index):
    """A user with a Discord id linked, logged in twice: (first session's token, second's, discord_id)."""
    name = f"sock-{uuid.uuid4().hex[:10]}"
    password = f"password-{name}"
    discord_id = str(random.randint(10 ** 17, 10 ** 18 - 1))
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with session.post(f"{base}/api/users", json={"username": name, "password": password, "role": "user"}, headers=headers) as reply:
        if reply.status != 201:
            raise SystemExit(f"creating {name}: {reply.status} {await reply.text()}")
        user_id = (await reply.json())["user_id"]
    async with session.patch(f"{base}/api/users/{user_id}", json={"discord_id": discord_id}, headers=headers) as reply:
        if reply.status != 200:
            raise SystemExit(f"linking {name}: {reply.status} {await reply.text()}")
    return await login(session, base, name, password), await login(session, base, name, password), discord_id


class Sockets:
    def __init__(self):
        self.open = 0
        self.failed = 0
        self.failures = collections.Counter()  # why connects failed -> how many
        self.arrivals = {}     # marker -> list of monotonic arrival times
        self.closed_early = 0
        self.revoking = False
        self.ended = []        # (session, reason, session_ended's arrival, close code, closed at)


async def hold(url, session_id, session, stats, established, stop):
    connected = False
    try:
        async with session.ws_connect(url, heartbeat=None, autoping=True, max_msg_size=1 << 20) as ws:
            ended = None
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                now = time.monotonic()
                frame = json.loads(message.data)
                kind = frame.get("type")
                if kind == "connection_established":
                    connected = True
                    stats.open += 1
                    established.release()
                elif kind in ("notification", "broadcast"):
                    stats.arrivals.setdefault(frame.get("title", ""), []).append(now)
                elif kind == "session_ended":
                    ended = (frame.get("reason"), now)
            if ended:
                stats.ended.append((session_id, ended[0], ended[1], ws.close_code, time.monotonic()))
            elif not stop.is_set():
                stats.closed_early += 1
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
        if connected:
            stats.closed_early += 1
            return
        stats.failed += 1
        detail = getattr(error, "status", None) or getattr(error, "strerror", None) or str(error)[:80]
        stats.failures[f"{type(error).__name__}: {detail}"] += 1
        established.release()


async def hold_many(urls, local_address, pipe):
    """One process's share of the sockets: opens them, says so, holds them until asked for what
    arrived, then (after the revocations) for which of them ended and when."""
    stats = Sockets()
    established = asyncio.Semaphore(0)
    stop = asyncio.Event()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, local_addr=(local_address, 0)))
    in_flight = asyncio.Semaphore(200)
    tasks = []

    async def connect(url, session_id):
        async with in_flight:
            tasks.append(asyncio.create_task(hold(url, session_id, session, stats, established, stop)))
            await established.acquire()

    await asyncio.gather(*(connect(url, session_id) for url, session_id in urls))
    loop = asyncio.get_running_loop()
    pipe.send(("ready", stats.open, stats.failed, dict(stats.failures)))
    await loop.run_in_executor(None, pipe.recv)  # "report"
    pipe.send(("report", stats.open - stats.closed_early, stats.failed, stats.arrivals))
    await loop.run_in_executor(None, pipe.recv)  # "ends", once the revocations were answered and waited for
    pipe.send(("ends", stats.ended, stats.open - stats.closed_early - len(stats.ended)))
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await session.close()


def worker(urls, local_address, pipe):
    run_measuring(hold_many(urls, local_address, pipe))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--admin", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--notify-internal", required=True, help="a notify replica's private listener")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--notify-pids", required=True, help="comma-separated pids of the notify replicas")
    parser.add_argument("--sockets", type=int, default=20000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--notifications", type=int, default=200)
    parser.add_argument("--processes", type=int, default=4, help="client processes (each from its own 127.0.0.N)")
    parser.add_argument("--broadcast-wait", type=float, default=5, help="seconds the broadcast has to reach every socket")
    parser.add_argument("--revocation-wait", type=float, default=5, help="seconds the revoked sessions' sockets have to close")
    args = parser.parse_args()

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    pids = [int(p) for p in args.notify_pids.split(",") if p]

    setup = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
    admin = await login(setup, args.base, args.admin, args.password)
    members = []
    for start in range(0, args.users, 50):
        members += await asyncio.gather(*(make_member(setup, args.base, admin, i) for i in range(start, min(args.users, start + 50))))

    rss_before = {pid: rss_kib(pid) for pid in pids}
    ws_base = args.base.replace("http://", "ws://")
    owner_of = [index % len(members) for index in range(args.sockets)]
    # Several processes (one process may hold only so many descriptors), each from its own address.
    # A user's sockets alternate between the user's two sessions.
    shares = [[] for _ in range(args.processes)]
    for index, member in enumerate(owner_of):
        token = members[member][(index // len(members)) % 2]
        shares[index % args.processes].append((f"{ws_base}/ws?token={token}", session_of(token)))
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    began = time.monotonic()
    for number, urls in enumerate(shares):
        parent, child = context.Pipe()
        process = context.Process(target=worker, args=(urls, f"127.0.0.{1 + number}", child), daemon=True)
        process.start()
        pipes.append(parent)
        processes.append(process)
    loop = asyncio.get_running_loop()
    opened = failed = 0
    failure_reasons = collections.Counter()
    for pipe in pipes:
        _, count, failures, reasons = await loop.run_in_executor(None, pipe.recv)
        opened += count
        failed += failures
        failure_reasons.update(reasons)
    connect_seconds = time.monotonic() - began
    await asyncio.sleep(2)
    rss_after = {pid: rss_kib(pid) for pid in pids}

    # A user's notification: from the bot's request to every socket of the user, on any replica.
    sockets_of_member = {}
    for index, member in enumerate(owner_of):
        sockets_of_member[member] = sockets_of_member.get(member, 0) + 1
    notify = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32))
    user_latencies = []
    user_missing = 0
    sent_at = {}
    chosen = [random.randrange(len(members)) for _ in range(args.notifications)]
    for number, member in enumerate(chosen):
        marker = f"bench-{number}-{uuid.uuid4().hex[:6]}"
        body = {"discord_id": members[member][2], "action": "bench", "metadata": {"title": marker, "message": "fan-out"}}
        sent_at[marker] = (time.monotonic(), member)
        async with notify.post(f"{args.notify_internal}/internal/notify", json=body,
                               headers={"Authorization": f"Bearer {args.secret}"}) as reply:
            if reply.status != 200:
                raise SystemExit(f"notify: {reply.status} {await reply.text()}")
        await asyncio.sleep(0.02)
    await asyncio.sleep(2)

    # A broadcast: from the admin's request to every socket.
    broadcast_marker = f"broadcast-{uuid.uuid4().hex[:6]}"
    broadcast_start = time.monotonic()
    async with setup.post(f"{args.base}/api/notifications/broadcast", json={"title": broadcast_marker, "message": "to everyone", "priority": "normal"},
                          headers={"Authorization": f"Bearer {admin}"}) as reply:
        if reply.status != 201:
            raise SystemExit(f"broadcast: {reply.status} {await reply.text()}")
    await asyncio.sleep(args.broadcast_wait)

    held = 0
    arrivals = {}
    for pipe in pipes:
        pipe.send("report")
    for pipe in pipes:
        _, count, failures, got = await loop.run_in_executor(None, pipe.recv)
        held += count
        for marker, times in got.items():
            arrivals.setdefault(marker, []).extend(times)

    # Revocations: the first session of every user, from the second, all at once.
    revoked = {session_of(first): second for first, second, _ in members}
    answered_at = {}

    async def revoke(session_id, token):
        async with notify.delete(f"{args.base}/api/auth/sessions/{session_id}", headers={"Authorization": f"Bearer {token}"}) as reply:
            if reply.status != 200:
                raise SystemExit(f"revoking {session_id}: {reply.status} {await reply.text()}")
            answered_at[session_id] = time.monotonic()

    revoke_start = time.monotonic()
    await asyncio.gather(*(revoke(session_id, token) for session_id, token in revoked.items()))
    revoke_answered = time.monotonic() - revoke_start
    await asyncio.sleep(args.revocation_wait)
    ended, still_open = [], 0
    for pipe in pipes:
        pipe.send("ends")
    for pipe in pipes:
        _, got, open_now = await loop.run_in_executor(None, pipe.recv)
        ended += got
        still_open += open_now
    for process in processes:
        process.join(timeout=10)
    revoked_sockets = sum(1 for url, session_id in sum(shares, []) if session_id in revoked)
    closes = [(closed_at - answered_at[session_id]) * 1000 for session_id, _, _, _, closed_at in ended if session_id in answered_at]
    last_frames = [(arrived - answered_at[session_id]) * 1000 for session_id, _, arrived, _, _ in ended if session_id in answered_at]
    wrong = [entry for entry in ended if entry[0] not in revoked or entry[1] != "revoked" or entry[3] != 4001]

    for marker, (start, member) in sent_at.items():
        got = arrivals.get(marker, [])
        user_missing += max(0, sockets_of_member.get(member, 0) - len(got))
        user_latencies += [(at - start) * 1000 for at in got]
    broadcast = [(at - broadcast_start) * 1000 for at in arrivals.get(broadcast_marker, [])]

    for session in [setup, notify]:
        await session.close()

    grown = sum(rss_after[pid] - rss_before[pid] for pid in pids)
    untouched = still_open
    print(json.dumps({
        "sockets_requested": args.sockets,
        "sockets_held": held,
        "sockets_failed": failed,
        "connect_seconds": round(connect_seconds, 2),
        "connects_per_second": round(opened / connect_seconds, 1) if connect_seconds else None,
        "rss_kib_before": rss_before,
        "rss_kib_after": rss_after,
        "kib_per_socket": round(grown / held, 2) if held else None,
        "user_notifications": len(sent_at),
        "user_frames_expected": sum(sockets_of_member.get(m, 0) for (_, m) in sent_at.values()),
        "user_frames_missing": user_missing,
        "user_ms_p50": round(percentile(user_latencies, 0.5) or 0, 2),
        "user_ms_p99": round(percentile(user_latencies, 0.99) or 0, 2),
        "broadcast_sockets_reached": len(broadcast),
        "broadcast_ms_p50": round(percentile(broadcast, 0.5) or 0, 2),
        "broadcast_ms_p99": round(percentile(broadcast, 0.99) or 0, 2),
        "broadcast_ms_max": round(max(broadcast) if broadcast else 0, 2),
        "connect_failures": dict(failure_reasons.most_common(10)),
        "revoked_sessions": len(revoked),
        "revoked_sockets": revoked_sockets,
        "revocations_answered_s": round(revoke_answered, 2),
        "revoked_sockets_closed": len(closes),
        "revoked_close_ms_p50": round(percentile(closes, 0.5) or 0, 2),
        "revoked_close_ms_p99": round(percentile(closes, 0.99) or 0, 2),
        "revoked_close_ms_max": round(max(closes) if closes else 0, 2),
        "revoked_last_frame_ms_p50": round(percentile(last_frames, 0.5) or 0, 2),
        "revoked_last_frame_ms_p99": round(percentile(last_frames, 0.99) or 0, 2),
        "wrongly_ended": len(wrong),
        "other_sockets_open": untouched,
    }))


if __name__ == "__main__":
    run_measuring(main())
