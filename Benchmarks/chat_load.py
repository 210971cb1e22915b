#!/usr/bin/env python3
"""Ticket chat load through nginx: senders post messages over HTTP, receivers hold WebSockets
in the tickets' rooms. Reports messages/s, send-to-frame latency and whether every message
reached every socket of its room exactly once. Prints one JSON object.

    python3 Benchmarks/chat_load.py --base http://127.0.0.1:8080 --admin admin --password …
"""
import argparse
import asyncio
import json
import statistics
import time
import uuid

import aiohttp
from bench_common import login, percentile, run_measuring




async def make_user(session, base, admin_token, role):
    name = f"chat-{role}-{uuid.uuid4().hex[:10]}"
    password = f"password-{name}"
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with session.post(f"{base}/api/users", json={"username": name, "password": password, "role": role}, headers=headers) as reply:
        if reply.status != 201:
            raise SystemExit(f"creating {name}: {reply.status} {await reply.text()}")
    return await login(session, base, name, password)


async def open_ticket(session, base, token):
    headers = {"Authorization": f"Bearer {token}"}
    body = {"subject": "chat benchmark", "category": "support", "message": "start"}
    async with session.post(f"{base}/api/tickets", json=body, headers=headers) as reply:
        if reply.status != 201:
            raise SystemExit(f"opening a ticket: {reply.status} {await reply.text()}")
        return (await reply.json())["ticket_id"]


class Stats:
    def __init__(self):
        self.sent_at = {}        # message marker -> monotonic send start
        self.room_of = {}        # message marker -> ticket id
        self.deliveries = {}     # (socket index, marker) -> count
        self.latencies = []
        self.send_latencies = []
        self.sent = 0
        self.failed = 0
        self.behind = 0      # paced messages not sent because too many were unanswered


async def receiver(index, session, base, token, ticket, stats, ready, done):
    url = base.replace("http://", "ws://") + f"/ws?token={token}"
    async with session.ws_connect(url, max_msg_size=1 << 20) as ws:
        await ws.send_str(json.dumps({"type": "join_ticket", "ticket_id": ticket}))
        joined = False
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(message.data)
            kind = frame.get("type")
            if kind == "message_history" and not joined:
                joined = True
                ready.release()
            elif kind == "new_message":
                now = time.monotonic()
                content = frame["message"]["content"]
                if not content.startswith("bench "):
                    continue
                marker = content.split(" ", 2)[1]
                key = (index, marker)
                stats.deliveries[key] = stats.deliveries.get(key, 0) + 1
                started = stats.sent_at.get(marker)
                if started is not None and stats.deliveries[key] == 1:
                    stats.latencies.append((now - started) * 1000)
            if done.is_set() and kind != "new_message":
                break


async def send_one(session, base, token, ticket, stats):
    marker = uuid.uuid4().hex
    headers = {"Authorization": f"Bearer {token}"}
    body = {"message": f"bench {marker} {'x' * 40}", "client_message_id": marker}
    stats.sent_at[marker] = time.monotonic()
    stats.room_of[marker] = ticket
    try:
        async with session.post(f"{base}/api/tickets/{ticket}/send", json=body, headers=headers) as reply:
            await reply.read()
            if reply.status == 200:
                stats.sent += 1
                stats.send_latencies.append((time.monotonic() - stats.sent_at[marker]) * 1000)
            else:
                stats.failed += 1
                stats.sent_at.pop(marker, None)
    except aiohttp.ClientError:
        stats.failed += 1
        stats.sent_at.pop(marker, None)


async def sender(index, session, base, tokens, tickets, stats, stop):
    """Closed loop: the next message as soon as the last one is answered."""
    # Each sender starts at a room of its own, so senders are not all in one room at once.
    position = index
    while not stop.is_set():
        room = position % len(tickets)
        position += 1
        await send_one(session, base, tokens[room], tickets[room], stats)


async def paced(rate, limit, session, base, tokens, tickets, stats, stop):
    """Open loop: `rate` messages a second on a fixed schedule, at most `limit` unanswered;
    a message that would pass the limit is not sent and counted as behind."""
    in_flight = set()
    began = time.monotonic()
    issued = 0
    while not stop.is_set():
        due = int((time.monotonic() - began) * rate)
        while issued < due:
            room = issued % len(tickets)
            issued += 1
            if len(in_flight) >= limit:
                stats.behind += 1
                continue
            task = asyncio.create_task(send_one(session, base, tokens[room], tickets[room], stats))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.sleep(0.002)
    if in_flight:
        await asyncio.gather(*in_flight)




async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--admin", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--rooms", type=int, default=40)
    parser.add_argument("--sockets-per-room", type=int, default=2)
    parser.add_argument("--senders", type=int, default=48)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--rate", type=float, default=0, help="messages a second on a fixed schedule (0: senders in a closed loop)")
    args = parser.parse_args()

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        admin = await login(session, args.base, args.admin, args.password)
        staff = await make_user(session, args.base, admin, "moderator")
        owners = [await make_user(session, args.base, admin, "user") for _ in range(args.rooms)]
        tickets = [await open_ticket(session, args.base, token) for token in owners]

        stats = Stats()
        ready = asyncio.Semaphore(0)
        done = asyncio.Event()
        receivers = []
        sockets = 0
        for room, ticket in enumerate(tickets):
            for copy in range(args.sockets_per_room):
                token = owners[room] if copy % 2 == 0 else staff
                receivers.append(asyncio.create_task(receiver(sockets, session, args.base, token, ticket, stats, ready, done)))
                sockets += 1
        for _ in range(sockets):
            await asyncio.wait_for(ready.acquire(), timeout=30)

        stop = asyncio.Event()
        began = time.monotonic()
        if args.rate > 0:
            senders = [asyncio.create_task(paced(args.rate, args.senders, session, args.base, owners, tickets, stats, stop))]
        else:
            senders = [asyncio.create_task(sender(index, session, args.base, owners, tickets, stats, stop)) for index in range(args.senders)]
        await asyncio.sleep(args.duration)
        stop.set()
        await asyncio.gather(*senders)
        elapsed = time.monotonic() - began
        # Let what is on its way arrive, then count.
        expected = {marker for marker in stats.sent_at}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            received = sum(1 for (_, marker) in stats.deliveries if marker in expected)
            if received >= len(expected) * args.sockets_per_room:
                break
            await asyncio.sleep(0.1)
        done.set()
        for task in receivers:
            task.cancel()

        sockets_of_room = {}
        for index in range(sockets):
            sockets_of_room.setdefault(tickets[index // args.sockets_per_room], []).append(index)
        missing = 0
        duplicates = 0
        for marker in expected:
            for index in sockets_of_room[stats.room_of[marker]]:
                count = stats.deliveries.get((index, marker), 0)
                if count == 0:
                    missing += 1
                elif count > 1:
                    duplicates += count - 1
        print(json.dumps({
            "rooms": args.rooms,
            "sockets": sockets,
            "senders": args.senders,
            "offered_rate": args.rate,
            "behind": stats.behind,
            "seconds": round(elapsed, 2),
            "messages_sent": stats.sent,
            "send_failures": stats.failed,
            "messages_per_second": round(stats.sent / elapsed, 1),
            "frames_expected": len(expected) * args.sockets_per_room,
            "frames_missing": missing,
            "frames_duplicated": duplicates,
            "send_ms_p50": round(percentile(stats.send_latencies, 0.50) or 0, 2),
            "send_ms_p99": round(percentile(stats.send_latencies, 0.99) or 0, 2),
            "latency_ms_p50": round(percentile(stats.latencies, 0.50) or 0, 2),
            "latency_ms_p99": round(percentile(stats.latencies, 0.99) or 0, 2),
            "latency_ms_max": round(max(stats.latencies) if stats.latencies else 0, 2),
        }))


if __name__ == "__main__":
    run_measuring(main())
