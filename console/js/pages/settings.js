// Settings (admin): the booking settings with their history, the ticket desk's settings, and the
// broadcast composer. `settingsPart` is the settings editor leveling-admin uses too.
import { get, newIdempotencyKey, send } from "../api.js";
import { busy, fill, field, form, h, notice, pageHeader, say, section, select, table, when } from "../ui.js";

export async function render(main, ctx) {
  const admin = ctx.me.role === "admin";
  const booking = { title: "Booking settings", path: "/api/booking/config", formOf: bookingForm, saved: "Saved: in force on every replica within a second." };
  const desk = { title: "Ticket desk settings", path: "/api/tickets/config", formOf: ticketsForm, saved: "Saved." };
  const parts = [
    ctx.can("booking:admin") ? settingsPart({ ...booking, history: "/api/booking/config/history" }, ctx) : null,
    admin ? settingsPart(desk, ctx) : null,
    ctx.can("notify:broadcast") ? { element: broadcastPart() } : null,
  ].filter(Boolean);
  fill(main, pageHeader("Settings"), parts.map((part) => part.element));
  await Promise.all(parts.map((part) => part.load && part.load()));
}

// ---- the history of a settings document ------------------------------------------------------

/** Every leaf of a settings document by its path (`discount_tiers[0].percent`), as JSON text. */
function leaves(value, path = "", into = new Map()) {
  if (Array.isArray(value)) {
    if (value.length === 0) into.set(path, "none");
    value.forEach((item, index) => leaves(item, `${path}[${index}]`, into));
  } else if (value && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) leaves(item, path ? `${path}.${key}` : key, into);
  } else {
    into.set(path, JSON.stringify(value));
  }
  return into;
}

/** What a change did, one line per setting: `base_price: 1 → 1.5`. */
function changes(before, after) {
  const old = leaves(before);
  const now = leaves(after);
  const lines = [];
  for (const key of new Set([...old.keys(), ...now.keys()])) {
    if (old.get(key) !== now.get(key)) lines.push(`${key}: ${old.get(key) ?? "—"} → ${now.get(key) ?? "—"}`);
  }
  return lines.length ? h("ul", {}, lines.map((line) => h("li", {}, line))) : h("span", { class: "muted" }, "No change");
}

const names = new Map();

/**
 * An account id as its username (the dashboard's staff table uses it too): the API's answers
 * name accounts by id only, so staff who may read accounts ask for each one once.
 */
export function accountName(ctx, id) {
  const cell = h("span", { title: id }, id.slice(0, 8));
  if (!ctx.can("users:read")) return cell;
  if (!names.has(id)) names.set(id, get(`/api/users/${encodeURIComponent(id)}`).then((user) => user.username, () => null));
  names.get(id).then((name) => name && (cell.textContent = name));
  return cell;
}

/** The changes of a settings document (`path` answers `{items, next_cursor}`), newest first. */
function configHistory(path, ctx, title = "Changes") {
  const status = notice();
  const holder = h("div");
  const older = h("button", { type: "button", hidden: true }, "Older changes");
  const state = { items: [], next: null };
  const page = async (cursor) => {
    const answer = await get(path, { limit: 10, cursor });
    state.items = cursor ? [...state.items, ...answer.items] : answer.items;
    state.next = answer.next_cursor;
    const rows = state.items.map((item) => [when(item.changed_at), accountName(ctx, item.changed_by), changes(item.before, item.after)]);
    fill(holder, table(`!${title}`, ["When", "By", "What changed"], rows, "Never changed: the environment's values are in force."));
    older.hidden = !state.next;
  };
  const reload = () => page(null).catch((error) => say(status, error));
  older.addEventListener("click", () => busy(older, () => page(state.next), status));
  return { element: h("div", {}, h("h3", {}, title), holder, older, status), reload };
}

/**
 * A settings document read from `path` into `formOf(config, save, status)`; `save(body)` PUTs it,
 * shows what is stored and, with a `history` path, the changes below (leveling-admin uses it too).
 */
export function settingsPart({ title, path, formOf, saved, history: historyPath = null }, ctx) {
  const status = notice();
  const holder = h("div");
  const history = historyPath ? configHistory(historyPath, ctx, `Changes to the ${title.toLowerCase()}`) : null;
  const show = (config) => fill(holder, formOf(config, save, status));
  const save = async (body) => {
    show(await send("PUT", path, body));
    holder.querySelector("button[type=submit]").focus();
    say(status, saved);
    if (history) history.reload();
  };
  const load = async () => {
    await get(path).then(show, (error) => say(status, error));
    if (history) await history.reload();
  };
  return { element: section(title, holder, status, history ? history.element : null), load };
}

// ---- small controls ---------------------------------------------------------------------------

function numberField(label, name, value, attributes = {}, hint = null) {
  return field(label, h("input", { name, type: "number", required: true, step: "1", value: String(value), ...attributes }), hint);
}

function checkField(label, name, checked) {
  const id = `setting-${name}`;
  return h("div", { class: "check" }, h("input", { type: "checkbox", name, id, checked }), h("label", { for: id }, label));
}

function whole(values, name) {
  return Number.parseInt(values[name], 10);
}

// ---- booking ------------------------------------------------------------------------------------

function tiersText(tiers) {
  return tiers.map((tier) => `${tier.from_hours}:${tier.percent}`).join(", ");
}

function parseTiers(text) {
  return text
    .split(/[,\n]/)
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const match = /^(\d+)\s*:\s*(\d+)%?$/.exec(part);
      if (!match) throw new Error(`Discount tiers: “${part}” is not hours:percent (for example 10:10).`);
      return { from_hours: Number(match[1]), percent: Number(match[2]) };
    });
}

function bookingForm(config, save, status) {
  const refunds = [["unused_hours", "The hours not used yet"], ["none", "Nothing"]];
  return form(
    {},
    [
      h("div", { class: "row" }, [
        field("Base price per hour", h("input", { name: "base_price", type: "number", required: true, min: "0", max: "100000", step: "0.01", value: String(config.base_price) })),
        numberField("Booking horizon (days)", "horizon_days", config.horizon_days, { min: "1", max: "3650" }),
        numberField("Longest booking (hours)", "longest_booking_hours", config.longest_booking_hours, { min: "1", max: "720" }),
      ]),
      field("Discount tiers", h("input", { name: "discount_tiers", value: tiersText(config.discount_tiers), autocomplete: "off" }), "hours:percent, lowest hours first, comma-separated (10:10, 50:20); empty for none."),
      field("Refund when a started booking is cancelled", select("refund_after_start", refunds, config.refund_after_start)),
      h("button", { type: "submit", class: "primary" }, "Save booking settings"),
    ],
    async (values) => {
      const body = {
        base_price: Math.round(Number(values.base_price) * 100) / 100,
        discount_tiers: parseTiers(values.discount_tiers || ""),
        refund_after_start: values.refund_after_start,
        horizon_days: whole(values, "horizon_days"),
        longest_booking_hours: whole(values, "longest_booking_hours"),
      };
      await save(body);
    },
    status,
  );
}

// ---- the ticket desk --------------------------------------------------------------------------

function ticketsForm(config, save, status) {
  return form(
    {},
    [
      checkField("New tickets may be opened", "enabled", config.enabled),
      checkField("Transcripts may be read", "transcript_enabled", config.transcript_enabled),
      h("div", { class: "row" }, [
        numberField("Open tickets per member", "max_open_per_user", config.max_open_per_user, { min: "1", max: "100" }),
        numberField("Close after hours without a message", "auto_close_hours", config.auto_close_hours, { min: "0", max: "8760" }, "0: never."),
      ]),
      field("Categories", h("input", { name: "categories", required: true, value: config.categories.join(", "), autocomplete: "off" }), "1 to 20 names of lower-case letters, digits, “_” or “-”, comma-separated. Existing tickets keep theirs."),
      h("button", { type: "submit", class: "primary" }, "Save desk settings"),
    ],
    async (values) => {
      const body = {
        enabled: values.enabled === "on",
        transcript_enabled: values.transcript_enabled === "on",
        max_open_per_user: whole(values, "max_open_per_user"),
        auto_close_hours: whole(values, "auto_close_hours"),
        categories: values.categories.split(",").map((name) => name.trim()).filter(Boolean),
      };
      await save(body);
    },
    status,
  );
}

// ---- broadcast ----------------------------------------------------------------------------------

function broadcastPart() {
  // One key per composed message: a double submit or a retry sends it once.
  let key = newIdempotencyKey();
  const status = notice();
  const priorities = [["low", "Low"], ["normal", "Normal"], ["high", "High (a banner)"]];
  const composer = form(
    {},
    [
      field("Title", h("input", { name: "title", required: true, maxlength: "200" })),
      field("Message", h("textarea", { name: "message", required: true, maxlength: "2000", rows: "4" }), "Up to 2000 characters. Every member's inbox keeps it 30 days."),
      field("Priority", select("priority", priorities, "normal")),
      h("button", { type: "submit", class: "primary" }, "Send to everyone"),
    ],
    async (values) => {
      const body = { title: values.title.trim(), message: values.message.trim(), priority: values.priority };
      let sent;
      try {
        sent = await send("POST", "/api/notifications/broadcast", body, { idempotencyKey: key });
      } catch (error) {
        // The key went with another message (changed after a lost answer): the next submit is a new one.
        if (error.code === "idempotency_key_reused") key = newIdempotencyKey();
        throw error;
      }
      key = newIdempotencyKey();
      composer.reset();
      say(status, `Sent “${sent.title}” to everyone at ${when(sent.created_at)}.`);
    },
    status,
  );
  return section("Broadcast", composer, status);
}
