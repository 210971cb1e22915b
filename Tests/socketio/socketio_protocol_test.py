#!/usr/bin/env python3
"""notify's /socket.io/ held to the Engine.IO v4 and Socket.IO v5 specifications, through nginx
with two notify replicas, at the server's real settings: sessions end with their access token's
session (`session_ended`, then DISCONNECT), a fresh token keeps a socket going, polls during an
upgrade end at once, packets that break the protocol close the session, and binary events are
decoded (and refused with an answer to their ack).

Run by scripts/test beside socketio_client_test.py, with the same environment. Prints one
summary line (and the failed checks); exits non-zero when any check fails.
"""

import base64
import json
import threading
import time

import requests
import socketio
import websocket

from live_checks import ADMIN, BASE, RS, api, check, credentials, eventually, lock, login, make_user, run

WS_BASE = BASE.replace("http://", "ws://", 1)
# The product's promise: a session's sockets end within a second of the answer that ended it.
PROMISE = 1.0


# ---- a stock client that records when things happen ------------------------------------------


class Socket:
    def __init__(self, token, transports):
        self.events = []
        self.disconnected = None
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", self._record)
        self.sio.on("disconnect", self._disconnect)
        self.sio.connect(BASE, auth={"token": token}, transports=transports, wait_timeout=15)

    def _record(self, event, *args):
        with lock:
            self.events.append((time.monotonic(), event, args[0] if args else None))

    def _disconnect(self, *args):
        self.disconnected = (time.monotonic(), args[0] if args else None)

    def first(self, name):
        with lock:
            return next(((at, payload) for at, event, payload in self.events if event == name), None)

    def close(self):
        try:
            self.sio.disconnect()
        except Exception:
            pass


def session_end_checks(admin):
    for transports in (["websocket"], ["polling"]):
        name = transports[0]
        _, token = make_user(admin)
        sock = Socket(token, transports)
        check(eventually(lambda: sock.first("connection_established") is not None), f"{name}: no connection_established")
        # A fresh token of the same user: acknowledged with its expiry, and the socket goes on.
        fresh = login(*credentials[token])
        acked = sock.sio.call("authenticate", {"token": fresh}, timeout=10)
        check(isinstance(acked, dict) and acked.get("type") == "authenticated" and "expires_at" in acked, f"{name}: authenticate ack {acked}")
        check(sock.sio.call("ping", {}, timeout=10) == {"type": "pong"}, f"{name}: no pong after authenticate")
        # The socket now stands on the fresh token's session: logging that one out ends it.
        started = time.monotonic()
        api("POST", "/api/auth/logout", fresh)
        check(eventually(lambda: sock.first("session_ended") is not None and sock.disconnected is not None, 10), f"{name}: not ended by logout")
        ended = sock.first("session_ended")
        if ended:
            check(ended[1] == {"reason": "logged_out"}, f"{name}: session_ended {ended[1]}")
            check(ended[0] - started <= PROMISE, f"{name}: session_ended {ended[0] - started:.3f} s after the logout")
        if sock.disconnected:
            # Told by the server (a namespace DISCONNECT), not a transport that dropped.
            check(sock.disconnected[1] in (None, socketio.Client.reason.SERVER_DISCONNECT), f"{name}: disconnect reason {sock.disconnected[1]}")
        sock.close()

    # A token that is not valid ends the socket: invalid_token, then DISCONNECT.
    _, token = make_user(admin)
    sock = Socket(token, ["websocket"])
    sock.sio.emit("authenticate", {"token": "not-a-token"})
    check(eventually(lambda: sock.first("session_ended") is not None and sock.disconnected is not None, 10), "a bad authenticate did not end the socket")
    ended = sock.first("session_ended")
    check(ended is not None and ended[1] == {"reason": "invalid_token"}, f"bad authenticate: {ended}")
    sock.close()


# ---- raw Engine.IO ----------------------------------------------------------------------------


def raw_session(token, connect=True):
    """A polling session (connected to the default namespace when `connect`): its URL."""
    reply = requests.get(f"{BASE}/socket.io/?EIO=4&transport=polling", timeout=10)
    sid = json.loads(reply.text[1:])["sid"]
    url = f"{BASE}/socket.io/?EIO=4&transport=polling&sid={sid}"
    if connect:
        requests.post(url, data="40" + json.dumps({"token": token}), timeout=10)
        packets = requests.get(url, timeout=30).text.split(RS)
        assert packets[0].startswith("40{"), f"no CONNECT answer: {packets}"
    return sid, url


def polls_during_an_upgrade_end_at_once(token):
    sid, url = raw_session(token)
    pending = {}

    def poll():
        started = time.monotonic()
        reply = requests.get(url, timeout=40)
        pending["answer"] = (reply.status_code, reply.text, time.monotonic() - started)

    first = threading.Thread(target=poll)
    first.start()
    time.sleep(0.2)  # the poll is under way (the server holds it until something is ready)
    ws = websocket.create_connection(f"{WS_BASE}/socket.io/?EIO=4&transport=websocket&sid={sid}", timeout=10)
    ws.send("2probe")
    check(ws.recv() == "3probe", "no 3probe")
    first.join(timeout=10)
    check(pending.get("answer", (0, ""))[:2] == (200, "6"), f"the poll under way at the probe: {pending.get('answer')}")
    # A poll that starts later in the upgrade is answered at once too, with a noop.
    started = time.monotonic()
    later = requests.get(url, timeout=40)
    elapsed = time.monotonic() - started
    check(later.status_code == 200 and later.text == "6", f"a poll during the upgrade answered {later.status_code} {later.text!r}")
    check(elapsed < 1.0, f"a poll during the upgrade took {elapsed:.3f} s")
    ws.send("5")
    ws.send('42["ping",{}]')
    answer = ws.recv()
    check(answer == '42["pong",{}]', f"after the upgrade: {answer!r}")
    after = requests.get(url, timeout=10)
    check(after.status_code == 400, f"a poll after the upgrade answered {after.status_code}")
    ws.close()


def closes_on(token, payload, connect, what):
    """POSTs `payload` to a polling session: a 400, and the session is gone."""
    _, url = raw_session(token, connect=connect)
    reply = requests.post(url, data=payload, timeout=10)
    check(reply.status_code == 400, f"{what}: POST answered {reply.status_code} {reply.text[:200]}")
    after = requests.get(url, timeout=10)
    check(after.status_code == 400 or after.text.split(RS)[-1] == "1", f"{what}: the session stayed ({after.status_code} {after.text[:100]!r})")


def malformed_packets_end_the_session(token):
    closes_on(token, "abc", True, "an Engine.IO packet of no type")
    closes_on(token, '42["ping",{}]', False, "an EVENT before CONNECT")
    closes_on(token, "4abc", False, "a Socket.IO packet of no type")
    closes_on(token, "42{}", True, "an EVENT whose payload is an object")
    closes_on(token, '42abc["ping",{}]', True, "an EVENT with a broken id")
    closes_on(token, "47", True, "a Socket.IO packet type 7")
    closes_on(token, '40{"token":"' + token + '"}', True, "a second CONNECT")
    # Application-level refusals keep the session: an unknown event gets an `error` event.
    _, url = raw_session(token)
    check(requests.post(url, data='42["nonsense",{}]', timeout=10).text == "ok", "an unknown event was refused at the transport")
    answer = requests.get(url, timeout=30).text
    check(answer.startswith('42["error",'), f"an unknown event's answer: {answer[:200]!r}")
    # Over WebSocket: a packet that cannot be parsed closes the connection (1002).
    ws = websocket.create_connection(f"{WS_BASE}/socket.io/?EIO=4&transport=websocket", timeout=10)
    ws.recv()
    ws.send("40" + json.dumps({"token": token}))
    check(ws.recv().startswith("40{"), "no CONNECT answer over WebSocket")
    ws.recv()  # connection_established
    ws.send("abc")
    closed = None
    try:
        while True:
            opcode, data = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                closed = int.from_bytes(data[:2], "big") if len(data) >= 2 else 0
                break
    except Exception:
        pass
    check(closed == 1002, f"a broken packet over WebSocket: close code {closed}")
    ws.close()


def binary_events_are_answered(token):
    header = '451-789["ping",{"_placeholder":true,"num":0}]'
    # Over WebSocket: the header, then the attachment as a binary message.
    ws = websocket.create_connection(f"{WS_BASE}/socket.io/?EIO=4&transport=websocket", timeout=10)
    ws.recv()
    ws.send("40" + json.dumps({"token": token}))
    ws.recv()
    ws.recv()
    ws.send(header)
    ws.send_binary(b"\x01\x02\x03")
    answer = ws.recv()
    check(answer.startswith("43789[") and '"error"' in answer, f"a binary event's ack over WebSocket: {answer!r}")
    ws.send('42["ping",{}]')
    check(ws.recv() == '42["pong",{}]', "the session did not go on after a binary event")
    ws.close()
    # Over polling: the attachment as a `b` packet (base64) in the same payload.
    _, url = raw_session(token)
    body = header + RS + "b" + base64.b64encode(b"\x01\x02\x03").decode()
    check(requests.post(url, data=body, timeout=10).text == "ok", "a binary event over polling was refused at the transport")
    answer = requests.get(url, timeout=30).text
    check(answer.startswith("43789[") and '"error"' in answer, f"a binary event's ack over polling: {answer!r}")


def main():
    admin = login(*ADMIN)
    tokens = [make_user(admin)[1] for _ in range(3)]
    session_end_checks(admin)
    polls_during_an_upgrade_end_at_once(tokens[0])
    malformed_packets_end_the_session(tokens[1])
    binary_events_are_answered(tokens[2])


if __name__ == "__main__":
    run("socket.io protocol test", main)
