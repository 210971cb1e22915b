// The ticket desk (staff): every ticket, filtered by status and category, claimed and closed
// from the list, kept fresh while it is open.
import { get, send } from "../api.js";
import * as live from "../live.js";
import { badge, busy, fill, h, notice, pageHeader, say, section, select, table, ago, field } from "../ui.js";

export async function render(main) {
  const desk = await get("/api/tickets/config");
  const status = notice();
  const list = h("div", { "aria-live": "polite" });
  const statusFilter = select("status", [["open", "Open"], ["closed", "Closed"], ["all", "All"]], "open");
  const categoryFilter = select("category", [["", "Every category"], ...desk.categories.map((name) => [name, name])], "");

  async function refresh() {
    const page = await get("/api/tickets", { limit: 100, status: statusFilter.value, category: categoryFilter.value });
    const rows = page.tickets.map((ticket) => {
      const actions = h("div", { class: "row" });
      const act = (label, path) => {
        const button = h("button", { "aria-label": `${label} “${ticket.subject}”` }, label);
        button.addEventListener("click", () =>
          busy(button, async () => {
            await send("POST", `/api/tickets/${ticket.ticket_id}/${path}`);
            say(status, `${label}: “${ticket.subject}”.`);
            await refresh();
          }, status),
        );
        return button;
      };
      if (ticket.status === "open" && !ticket.claimed_by) actions.append(act("Claim", "claim"));
      actions.append(ticket.status === "open" ? act("Close", "close") : act("Reopen", "reopen"));
      return [
        h("a", { href: `#/tickets/${ticket.ticket_id}` }, ticket.subject),
        ticket.user_name,
        ticket.category,
        badge(ticket.status, ticket.status === "open" ? "ok" : ""),
        ticket.claimed_by_name || "—",
        ticket.unread_count ? badge(String(ticket.unread_count), "warn") : "0",
        ago(ticket.last_message_at || ticket.created_at),
        actions,
      ];
    });
    fill(list, table("!Tickets on the desk", ["Subject", "From", "Category", "Status", "Claimed by", "Unread", "Last message", ""], rows, "No tickets match."));
  }

  statusFilter.addEventListener("change", () => refresh().catch((error) => say(status, error)));
  categoryFilter.addEventListener("change", () => refresh().catch((error) => say(status, error)));
  const refreshButton = h("button", {}, "Refresh");
  refreshButton.addEventListener("click", () => busy(refreshButton, refresh, status));
  fill(
    main,
    pageHeader("Ticket desk", refreshButton),
    section("Tickets", h("div", { class: "row" }, field("Status", statusFilter), field("Category", categoryFilter)), status, list),
  );
  await refresh();
  // New tickets and replies reach staff as notifications; the list also refreshes every 15 s.
  const timer = setInterval(() => document.hidden || refresh().catch(() => {}), 15_000);
  const off = live.on("notification", () => refresh().catch(() => {}));
  return () => {
    clearInterval(timer);
    off();
  };
}
