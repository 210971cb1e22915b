#!/usr/bin/env python3
"""Stock socket.io clients (python-socketio, the same protocol as socket.io-client 4.x) against
notify's /socket.io/ through nginx, with two notify replicas.

Run by scripts/test after the Swift tests, with GUILDHALL_BASE_URL, GUILDHALL_ADMIN_USERNAME and
GUILDHALL_ADMIN_PASSWORD in the environment. Prints one summary line (and the failed checks);
exits non-zero when any check fails.
"""

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
import socketio

from live_checks import ADMIN, BASE, RS, api, check, eventually, lock, login, make_user, run

POLLING_SESSIONS = 20


# ---- socket.io clients ----------------------------------------------------------------------


class Socket:
    """A stock python-socketio client that keeps every event it receives."""

    def __init__(self, token, transports=None):
        self.events = []
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", self._record)
        self.sio.connect(BASE, auth={"token": token}, transports=transports, wait_timeout=15)

    def _record(self, event, *args):
        with lock:
            self.events.append((event, args[0] if args else None))

    def received(self, name):
        with lock:
            return [payload for event, payload in self.events if event == name]

    def wait(self, name, timeout=10.0):
        """The first `name` event's payload, waiting for it; None when none came."""
        eventually(lambda: bool(self.received(name)), timeout)
        found = self.received(name)
        return found[0] if found else None

    def messages(self, ticket):
        return [e["message"]["id"] for e in self.received("new_message") if e.get("ticket_id") == ticket]

    @property
    def sid(self):
        return self.sio.eio.sid or ""

    def close(self):
        try:
            self.sio.disconnect()
        except Exception:
            pass


def refused(token_payload):
    """Connects with `token_payload` as auth; the connect error's text, or None if it connected."""
    client = socketio.Client(reconnection=False)
    events = []
    client.on("*", lambda event, *args: events.append(event))
    try:
        client.connect(BASE, auth=token_payload, transports=["websocket"], wait_timeout=10)
    except socketio.exceptions.ConnectionError as error:
        time.sleep(0.3)
        check(not events, f"a refused socket received events: {events}")
        return str(error) or "refused"
    client.disconnect()
    return None


# ---- raw Engine.IO over HTTP ------------------------------------------------------------------


def raw_open():
    reply = requests.get(f"{BASE}/socket.io/?EIO=4&transport=polling", timeout=10)
    assert reply.status_code == 200 and reply.text.startswith("0"), f"handshake: {reply.status_code} {reply.text[:200]}"
    return json.loads(reply.text[1:])


def raw_protocol_checks(token):
    opened = raw_open()
    check(opened.get("upgrades") == ["websocket"], f"open packet upgrades: {opened}")
    check(opened.get("pingInterval") == 25000 and opened.get("pingTimeout") == 20000, f"open packet heartbeat: {opened}")
    check(opened.get("maxPayload") == 1000000, f"open packet maxPayload: {opened}")
    url = f"{BASE}/socket.io/?EIO=4&transport=polling&sid={opened['sid']}"
    check(requests.post(url, data="40" + json.dumps({"token": token}), timeout=10).text == "ok", "CONNECT over a polling POST")
    first = requests.get(url, timeout=30).text.split(RS)
    check(first[0].startswith('40{"sid":'), f"CONNECT answer over polling: {first}")
    big = requests.post(url, data="4" + "x" * 1_000_001, timeout=10)
    check(big.status_code == 413, f"a POST over maxPayload answered {big.status_code}")
    unknown = requests.get(f"{BASE}/socket.io/?EIO=4&transport=polling&sid={opened['sid']}x", timeout=10)
    check(unknown.status_code == 400, f"an unknown sid answered {unknown.status_code}")
    version = requests.get(f"{BASE}/socket.io/?EIO=3&transport=polling", timeout=10)
    check(version.status_code == 400, f"EIO=3 answered {version.status_code}")
    requests.post(url, data="1", timeout=10)


def silent_client_is_closed(token, result):
    """A polling session that never answers the server's ping is closed (about 45 s)."""
    opened = raw_open()
    url = f"{BASE}/socket.io/?EIO=4&transport=polling&sid={opened['sid']}"
    requests.post(url, data="40" + json.dumps({"token": token}), timeout=10)
    pinged = False
    deadline = time.monotonic() + 70
    while time.monotonic() < deadline:
        reply = requests.get(url, timeout=40)
        if reply.status_code != 200:
            result["closed"] = pinged and reply.status_code == 400
            result["detail"] = f"HTTP {reply.status_code} after ping={pinged}"
            return
        packets = reply.text.split(RS)
        pinged = pinged or "2" in packets
        if "1" in packets:
            result["closed"] = pinged
            result["detail"] = f"close packet after ping={pinged}"
            return
    result["detail"] = "still open after 70 s"


# ---- the checks -------------------------------------------------------------------------------


def main():
    admin = login(*ADMIN)
    user_id, token = make_user(admin)
    ticket = api("POST", "/api/tickets", token, {"subject": "socket.io", "category": "technical", "message": "Since noon."}, expect=201)["ticket_id"]

    silent = {}
    silent_thread = threading.Thread(target=silent_client_is_closed, args=(token, silent), daemon=True)
    silent_thread.start()
    raw_protocol_checks(token)

    # Refusals: a CONNECT_ERROR with a message, and no events.
    for payload in ({"token": "nope"}, {}):
        check(refused(payload) is not None, f"a CONNECT with auth {payload} was accepted")

    # Default transports (polling, then the upgrade) and WebSocket only.
    upgraded = Socket(token)
    websocket_only = Socket(token, transports=["websocket"])
    for name, sock in (("default", upgraded), ("websocket-only", websocket_only)):
        check(sock.sio.transport() == "websocket", f"{name} client ends on {sock.sio.transport()}")
        established = sock.wait("connection_established")
        check(established is not None and established.get("user_id") == user_id, f"{name}: connection_established {established}")
        check(sock.sio.call("ping", {}, timeout=10) == {"type": "pong"}, f"{name}: ping with an ack")
        sock.sio.emit("ping", {})
        check(sock.wait("pong") == {}, f"{name}: ping without an ack answers a pong event")

    # Ticket rooms: message_history on join (as an event, or as the ack), new_message from HTTP.
    upgraded.sio.emit("join_ticket", {"ticket_id": ticket})
    history = upgraded.wait("message_history")
    check(history is not None and history.get("ticket_id") == ticket, f"join_ticket answers message_history: {history}")
    check(history is not None and [m.get("content") for m in history.get("messages", [])] == ["Since noon."], f"history: {history}")
    acked = websocket_only.sio.call("join_ticket", {"ticket_id": ticket}, timeout=15)
    check(isinstance(acked, dict) and acked.get("type") == "message_history", f"join_ticket with an ack: {acked}")
    refusal = websocket_only.sio.call("join_ticket", {"ticket_id": str(uuid.uuid4())}, timeout=15)
    check(isinstance(refusal, dict) and refusal.get("code") == "not_found", f"join_ticket of no ticket: {refusal}")

    # Many polling-only sessions, spread over both replicas by nginx: every request of a session
    # must reach the replica that holds it.
    with ThreadPoolExecutor(max_workers=POLLING_SESSIONS) as pool:
        pollers = list(pool.map(lambda _: Socket(token, transports=["polling"]), range(POLLING_SESSIONS)))
        answers = list(pool.map(lambda s: s.sio.call("ping", {}, timeout=15), pollers))
        joined = list(pool.map(lambda s: s.sio.call("join_ticket", {"ticket_id": ticket}, timeout=15), pollers))
    check(all(s.sio.transport() == "polling" for s in pollers), "polling-only clients stay on polling")
    check(all(a == {"type": "pong"} for a in answers), f"polling-only pings: {answers}")
    check(all(isinstance(j, dict) and j.get("type") == "message_history" for j in joined), "polling-only joins")
    replicas = {s.sid.split(".")[0] for s in pollers}
    check(len(replicas) >= 2, f"polling sessions all on one replica: {replicas}")

    sent = api("POST", f"/api/tickets/{ticket}/send", token, {"message": "over HTTP"})["message"]["id"]
    for name, sock in [("default", upgraded), ("websocket-only", websocket_only)] + [(f"polling {i}", s) for i, s in enumerate(pollers)]:
        check(eventually(lambda: sent in sock.messages(ticket), 15), f"{name}: new_message never arrived ({sock.sid})")
    time.sleep(0.5)
    check(all(s.messages(ticket).count(sent) == 1 for s in [upgraded, websocket_only] + pollers), "each new_message once")

    # Heartbeats: the stock clients answer the server's pings (they are still connected after
    # more than an interval), while a client that answers none is closed.
    silent_thread.join(timeout=80)
    check(silent.get("closed") is True, f"a client that answers no ping was not closed: {silent.get('detail')}")
    for name, sock in (("default", upgraded), ("websocket-only", websocket_only), ("polling", pollers[0])):
        check(sock.sio.connected and sock.sio.call("ping", {}, timeout=10) == {"type": "pong"}, f"{name}: lost after the pings")

    for sock in [upgraded, websocket_only] + pollers:
        sock.close()


if __name__ == "__main__":
    run("socket.io client test", main)
