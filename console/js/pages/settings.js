// Settings (admin): the booking settings with their history, the ticket desk's settings, and the
// broadcast composer.
import { get, newIdempotencyKey, send } from "../api.js";
import { busy, fill, field, form, h, notice, pageHeader, say, section, select, table, when } from "../ui.js";
import { settingsPart } from "../editing.js";

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
