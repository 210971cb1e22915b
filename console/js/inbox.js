// The signed-in user's inbox as the header's bell and the Notifications page share it: the
// unread count, live entries as toasts, broadcasts as a banner, read state in step with the
// user's other tabs and devices (notify's `notification_read`).
import { get, send } from "./api.js";
import * as live from "./live.js";
import { toast } from "./ui.js";

const listeners = new Set();
let unread = 0;
let banner = null;
let unsubscribers = [];

function changed(event) {
  for (const listener of listeners) listener({ unread, banner, ...event });
}

/** `listener({unread, banner, kind, id?})` on every change: `count`, `new`, `read`, `banner`. */
export function onChange(listener) {
  listeners.add(listener);
  listener({ unread, banner, kind: "count" });
  return () => listeners.delete(listener);
}

export function unreadCount() {
  return unread;
}

export async function load() {
  const page = await get("/api/notifications", { limit: 1 });
  unread = page.unread_count;
  const urgent = page.items.find((item) => item.kind === "broadcast" && !item.read);
  if (urgent && !banner) banner = { id: urgent.id, title: urgent.title, message: urgent.body, priority: urgent.priority };
  changed({ kind: "count" });
}

export async function markRead(id) {
  const answer = await send("POST", `/api/notifications/${encodeURIComponent(id)}/read`);
  unread = answer.unread_count;
  if (banner && banner.id === id) banner = null;
  changed({ kind: "read", id });
  return answer;
}

export async function markAll() {
  const answer = await send("POST", "/api/notifications/read-all");
  unread = answer.unread_count;
  banner = null;
  changed({ kind: "read", id: "all" });
  return answer;
}

export function dismissBanner() {
  banner = null;
  changed({ kind: "banner" });
}

export function start() {
  stop();
  unsubscribers = [
    live.on("notification", (frame) => {
      unread += 1;
      toast(frame.body || "", "info", frame.title || "Notification");
      changed({ kind: "new", id: frame.id, frame });
    }),
    live.on("broadcast", (frame) => {
      unread += 1;
      banner = { id: frame.id, title: frame.title, message: frame.message, priority: frame.priority };
      changed({ kind: "new", id: frame.id, frame: { ...frame, body: frame.message, kind: "broadcast" } });
    }),
    live.on("notification_read", (frame) => {
      if (banner && (frame.id === "all" || frame.id === banner.id)) banner = null;
      // The count is the server's: ask it rather than guess.
      load().catch(() => {});
      changed({ kind: "read", id: frame.id });
    }),
    live.on("connection_established", () => load().catch(() => {})),
  ];
  return load();
}

export function stop() {
  for (const unsubscribe of unsubscribers) unsubscribe();
  unsubscribers = [];
  unread = 0;
  banner = null;
}
