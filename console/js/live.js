// One live connection per tab: notify's `/ws`, signed in with the first frame, reconnecting with
// backoff, rejoining ticket rooms from the last message seen, handing over each new access token
// in-band, and ending the session here when the server ends it.
import { accessToken, onToken, sessionEnded } from "./api.js";

const handlers = new Map();
const statusListeners = new Set();
// ticket id → the id of the last message seen (null: none yet)
const rooms = new Map();
let socket = null;
let attempts = 0;
let reconnectTimer = null;
let stopped = true;
let state = "offline";
let lastFrameAt = 0;
let heartbeat = null;
// A connection that has said nothing for this long (a ping goes out every 25 s) is dead, whatever
// the browser thinks (a phone that changed networks): it is closed and opened again.
const SILENCE_MS = 40_000;

function setState(next) {
  state = next;
  for (const listener of statusListeners) listener(state);
}

/** `connecting`, `live`, `reconnecting` or `offline`. */
export function status() {
  return state;
}

export function onStatus(listener) {
  statusListeners.add(listener);
  listener(state);
  return () => statusListeners.delete(listener);
}

/** Calls `handler(frame)` for every frame of `type`; returns the unsubscribe function. */
export function on(type, handler) {
  if (!handlers.has(type)) handlers.set(type, new Set());
  handlers.get(type).add(handler);
  return () => handlers.get(type).delete(handler);
}

function emit(frame) {
  for (const handler of handlers.get(frame.type) || []) {
    try {
      handler(frame);
    } catch (error) {
      console.warn("live handler failed", error);
    }
  }
}

function sendFrame(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

/** Joins a ticket's room (again after every reconnect, from the last message seen). */
export function joinTicket(ticketId, lastMessageId = null) {
  rooms.set(ticketId, lastMessageId);
  if (state === "live") sendFrame({ type: "join_ticket", ticket_id: ticketId, ...(lastMessageId ? { since: lastMessageId } : {}) });
}

export function leaveTicket(ticketId) {
  rooms.delete(ticketId);
  sendFrame({ type: "leave_ticket", ticket_id: ticketId });
}

/** Notes a message seen in a room, so a reconnect asks only for what came after it. */
export function sawMessage(ticketId, messageId) {
  if (rooms.has(ticketId)) rooms.set(ticketId, messageId);
}

function open() {
  clearTimeout(reconnectTimer);
  if (stopped || !accessToken()) return;
  setState(attempts === 0 ? "connecting" : "reconnecting");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  socket = ws;
  ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "auth", token: accessToken() })));
  ws.addEventListener("message", (event) => {
    lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame.type === "connection_established") {
      attempts = 0;
      setState("live");
      clearInterval(heartbeat);
      heartbeat = setInterval(() => {
        if (socket !== ws) return clearInterval(heartbeat);
        if (Date.now() - lastFrameAt > SILENCE_MS) return ws.close(4000, "no answer");
        sendFrame({ type: "ping" });
        return undefined;
      }, 25_000);
      for (const [ticketId, since] of rooms) {
        sendFrame({ type: "join_ticket", ticket_id: ticketId, ...(since ? { since } : {}) });
      }
    } else if (frame.type === "session_ended") {
      stopped = true;
      sessionEnded(frame.reason || "session_ended");
    }
    emit(frame);
  });
  ws.addEventListener("close", (event) => {
    if (socket !== ws) return;
    socket = null;
    clearInterval(heartbeat);
    if (stopped || event.code === 4001) {
      setState("offline");
      return;
    }
    if (event.code === 1008 && !accessToken()) {
      setState("offline");
      return;
    }
    // Backoff with jitter: 0.5 s, 1 s, 2 s … up to 30 s.
    const delay = Math.min(30_000, 500 * 2 ** attempts) * (0.75 + Math.random() * 0.5);
    attempts += 1;
    setState("reconnecting");
    reconnectTimer = setTimeout(open, delay);
  });
}

onToken((token) => {
  if (state === "live") sendFrame({ type: "authenticate", token });
});

window.addEventListener("online", () => {
  if (!stopped && !socket) {
    attempts = 0;
    open();
  }
});

export function start() {
  if (!stopped) return;
  stopped = false;
  attempts = 0;
  open();
}

export function stop() {
  stopped = true;
  rooms.clear();
  clearTimeout(reconnectTimer);
  if (socket) socket.close(1000, "signed out");
  socket = null;
  setState("offline");
}
