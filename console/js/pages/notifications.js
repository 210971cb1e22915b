// Notifications: the inbox (newest first, read state in step with the user's other tabs and
// devices), live while the page is open.
import { get } from "../api.js";
import * as inbox from "../inbox.js";
import { ago, badge, busy, fill, h, notice, pageHeader, say } from "../ui.js";

export async function render(main) {
  const list = h("ul", { class: "inbox", "aria-label": "Inbox" });
  const status = notice();
  let cursor = null;
  const more = h("button", { class: "plain" }, "Older notifications");

  function item(entry) {
    const read = h("button", { class: "plain", "aria-label": `Mark “${entry.title}” read`, hidden: entry.read }, "Mark read");
    const element = h(
      "li",
      { class: `card inbox-item${entry.read ? " read" : ""}`, dataset: { id: entry.id, read: String(entry.read) } },
      h("div", { class: "row" }, h("strong", {}, entry.title), entry.kind === "broadcast" ? badge("broadcast", "warn") : null, entry.read ? null : badge("unread", "ok"), h("span", { class: "muted" }, ago(entry.created_at))),
      h("p", {}, entry.body),
      read,
    );
    read.addEventListener("click", () => busy(read, () => inbox.markRead(entry.id), status));
    return element;
  }

  function markShown(id) {
    const items = id === "all" ? list.querySelectorAll("li") : list.querySelectorAll(`li[data-id="${CSS.escape(id)}"]`);
    for (const element of items) {
      element.classList.add("read");
      element.dataset.read = "true";
      element.querySelector(".badge.ok")?.remove();
      const button = element.querySelector("button");
      if (button) button.hidden = true;
    }
  }

  async function load(reset) {
    const page = await get("/api/notifications", { limit: 30, cursor: reset ? null : cursor });
    cursor = page.next_cursor;
    more.hidden = !cursor;
    if (reset) fill(list);
    list.append(...page.items.map(item));
    if (reset && page.items.length === 0) list.append(h("li", { class: "empty" }, "Nothing here yet."));
  }

  more.addEventListener("click", () => busy(more, () => load(false), status));
  const readAll = h("button", {}, "Mark all read");
  readAll.addEventListener("click", () => busy(readAll, async () => {
    await inbox.markAll();
    say(status, "Everything is read.");
  }, status));
  fill(main, pageHeader("Notifications", readAll), status, list, more);
  await load(true);
  return inbox.onChange((event) => {
    if (event.kind === "read") markShown(event.id);
    if (event.kind === "new") load(true).catch(() => {});
  });
}
