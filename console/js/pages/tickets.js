// Tickets: the member's list with unread counts, opening one, and a ticket's conversation live
// (history, catch-up after a dropped connection, sends that a retry never posts twice). The
// ticket desk opens tickets here too.
import { get, newIdempotencyKey, request, send } from "../api.js";
import * as live from "../live.js";
import { ago, badge, busy, download, field, fill, form, h, notice, pageHeader, say, section, select, table, when } from "../ui.js";

export async function render(main, ctx) {
  if (ctx.params[0]) return renderTicket(main, ctx, ctx.params[0]);
  const [list, desk] = await Promise.all([get("/api/tickets", { limit: 50 }), get("/api/tickets/config")]);
  const status = notice();
  const mine = h("div", {}, ticketTable(list.tickets));
  const opener = form(
    { "aria-label": "Open a ticket" },
    [
      field("Subject", h("input", { name: "subject", required: true, maxlength: "200" })),
      field("Category", select("category", desk.categories.map((name) => [name, name]))),
      field("Message", h("textarea", { name: "message", required: true, maxlength: "4000" })),
      h("button", { type: "submit", class: "primary" }, "Open ticket"),
    ],
    async (values) => {
      const ticket = await send("POST", "/api/tickets", { subject: values.subject, category: values.category, message: values.message });
      location.hash = `#/tickets/${ticket.ticket_id}`;
    },
    status,
  );
  fill(
    main,
    pageHeader("Tickets"),
    desk.enabled ? section("Open a ticket", opener, status) : h("p", { class: "notice" }, "The ticket desk is closed for now."),
    section("My tickets", mine),
  );
  // A reply from staff arrives as a notification: the list shows it.
  return live.on("notification", () => {
    get("/api/tickets", { limit: 50 }).then((fresh) => fill(mine, ticketTable(fresh.tickets))).catch(() => {});
  });
}

/** The member's tickets as a table, each subject a link to the conversation. */
function ticketTable(tickets) {
  const rows = tickets.map((ticket) => [
    h("a", { href: `#/tickets/${ticket.ticket_id}` }, ticket.subject),
    ticket.category,
    badge(ticket.status, ticket.status === "open" ? "ok" : ""),
    ticket.claimed_by_name || "—",
    ticket.unread_count ? badge(`${ticket.unread_count} unread`, "warn") : "0",
    ago(ticket.last_message_at || ticket.created_at),
  ]);
  return table("!Tickets", ["Subject", "Category", "Status", "Staff", "Unread", "Last message"], rows, "No tickets.");
}

async function renderTicket(main, ctx, id) {
  const page = await get(`/api/tickets/${encodeURIComponent(id)}`, { limit: 50 });
  let ticket = page.ticket;
  const staff = ctx.can("tickets:staff");
  const seen = new Set();
  const chat = h("div", { class: "chat", role: "log", "aria-label": "Conversation", tabindex: "0" });
  const head = h("div");
  // The reply form while the ticket is open, a word on reopening it while it is closed.
  const replySlot = h("div");
  const closedNote = h("p", { class: "muted" }, "This ticket is closed; reopen it to write again.");
  const status = notice();
  let olderCursor = page.next_cursor;
  const older = h("button", { class: "plain" }, "Load older messages");

  function bubble(message) {
    const mine = message.author_id === ctx.me.user_id;
    return h(
      "div",
      { class: `message${mine ? " mine" : ""}${message.is_admin ? " staff" : ""}`, dataset: { id: message.id } },
      h("span", { class: "author" }, message.author_name),
      h("time", { class: "time", datetime: message.timestamp }, when(message.timestamp)),
      h("p", {}, message.content),
    );
  }

  function add(messages, { prepend = false } = {}) {
    const fresh = messages.filter((message) => !seen.has(message.id));
    fresh.forEach((message) => seen.add(message.id));
    if (fresh.length === 0) return;
    if (prepend) chat.prepend(...fresh.map(bubble));
    else {
      for (const message of fresh) {
        // A message this tab sent and shows as pending: the server's copy replaces it.
        chat.querySelector(`[data-pending="${CSS.escape(message.content)}"]`)?.remove();
        chat.append(bubble(message));
      }
      live.sawMessage(id, fresh[fresh.length - 1].id);
      chat.scrollTop = chat.scrollHeight;
    }
  }

  function renderHead() {
    fill(replySlot, ticket.status === "open" ? composeForm : closedNote);
    const actions = [];
    const act = (label, path, words) => {
      const button = h("button", {}, label);
      button.addEventListener("click", () =>
        busy(button, async () => {
          ticket = await send("POST", `/api/tickets/${id}/${path}`);
          renderHead();
          say(status, words);
        }, status),
      );
      return button;
    };
    if (staff && ticket.status === "open" && !ticket.claimed_by) actions.push(act("Claim", "claim", "You claimed this ticket."));
    actions.push(ticket.status === "open" ? act("Close ticket", "close", "Ticket closed.") : act("Reopen ticket", "reopen", "Ticket reopened."));
    const transcript = h("button", {}, "Download transcript");
    transcript.addEventListener("click", () =>
      busy(transcript, async () => download(`ticket-${id}.txt`, await request("GET", `/api/tickets/${id}/transcript`, { text: true })), status),
    );
    actions.push(transcript);
    fill(
      head,
      pageHeader(ticket.subject, ...actions),
      h(
        "p",
        { class: "muted" },
        badge(ticket.status, ticket.status === "open" ? "ok" : ""),
        ` ${ticket.category} · opened by ${ticket.user_name} ${ago(ticket.created_at)}`,
        ticket.claimed_by_name ? ` · claimed by ${ticket.claimed_by_name}` : "",
      ),
    );
  }

  older.hidden = !olderCursor;
  older.addEventListener("click", () =>
    busy(older, async () => {
      const earlier = await get(`/api/tickets/${id}`, { limit: 50, before: olderCursor });
      olderCursor = earlier.next_cursor;
      older.hidden = !olderCursor;
      add(earlier.messages, { prepend: true });
    }, status),
  );

  const composer = h("textarea", { name: "message", required: true, maxlength: "4000", rows: "2" });
  const sendButton = h("button", { type: "submit", class: "primary" }, "Send");
  const composeForm = h("form", { class: "composer", "aria-label": "Reply" }, h("label", { for: "reply-text", class: "visually-hidden" }, "Message"), composer, sendButton);
  composer.id = "reply-text";
  composer.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      composeForm.requestSubmit();
    }
  });
  composeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = composer.value.trim();
    if (!text) return;
    // One id per message: a retry after a lost answer returns the first post instead of a second.
    const clientId = newIdempotencyKey();
    const pending = h("div", { class: "message mine pending", dataset: { pending: text } }, h("span", { class: "author" }, "Sending…"), h("p", {}, text));
    chat.append(pending);
    chat.scrollTop = chat.scrollHeight;
    composer.value = "";
    busy(sendButton, async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          const sent = await send("POST", `/api/tickets/${id}/send`, { message: text, client_message_id: clientId });
          pending.remove();
          add([sent.message]);
          return;
        } catch (error) {
          if (attempt >= 2 || (error.status && error.status < 500 && error.status !== 429)) {
            pending.remove();
            composer.value = text;
            throw error;
          }
          await new Promise((resolve) => setTimeout(resolve, 1000 * (attempt + 1)));
        }
      }
    }, status);
  });

  renderHead();
  fill(main, head, section("Conversation", older, chat, replySlot, status));
  add(page.messages);
  chat.scrollTop = chat.scrollHeight;
  const last = page.messages.length ? page.messages[page.messages.length - 1].id : null;
  live.joinTicket(id, last);
  const markRead = () => send("POST", `/api/tickets/${id}/mark-read`).catch(() => {});
  markRead();
  const offs = [
    live.on("message_history", (frame) => frame.ticket_id === id && add(frame.messages)),
    live.on("new_message", (frame) => {
      if (frame.ticket_id !== id) return;
      add([frame.message]);
      if (!document.hidden) markRead();
    }),
    ...["ticket_closed", "ticket_reopened", "ticket_claimed"].map((type) =>
      live.on(type, (frame) => {
        if (frame.ticket_id !== id) return;
        get(`/api/tickets/${id}`, { limit: 1 }).then((fresh) => {
          ticket = fresh.ticket;
          renderHead();
        }).catch(() => {});
      }),
    ),
  ];
  return () => {
    offs.forEach((off) => off());
    live.leaveTicket(id);
  };
}
