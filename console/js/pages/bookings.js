// Bookings: the hours balance and its ledger, the shop, price estimates, finding a free VM and
// booking it, a day's timeline of the VMs, and the member's bookings with what cancelling gives back.
import { get, newIdempotencyKey, send } from "../api.js";
import * as live from "../live.js";
import { badge, busy, day, field, fill, form, h, localInput, money, notice, pageHeader, say, section, select, table, when } from "../ui.js";

const STATUS_KIND = { scheduled: "", active: "ok", completed: "", cancelled: "warn" };

export async function render(main) {
  const [services, packs, vms] = await Promise.all([get("/api/booking/services"), get("/api/booking/shop/packs"), get("/api/booking/vms")]);
  const offered = services.filter((service) => service.available);
  const serviceOptions = offered.map((service) => [service.id, `${service.name} (${money(service.price_per_hour)}/h)`]);
  const balance = h("span", { class: "value", id: "hours-balance" }, "…");
  const ledger = h("div");
  const mine = h("div");
  const mineStatus = notice();

  async function refreshWallet() {
    const wallet = await get("/api/booking/wallet", { limit: 20 });
    balance.textContent = String(wallet.hours_balance);
    fill(
      ledger,
      table(
        "Ledger",
        ["When", "What", "Hours", "Balance"],
        wallet.transactions.map((entry) => [when(entry.created_at), entry.reason || entry.kind, entry.hours > 0 ? `+${entry.hours}` : String(entry.hours), String(entry.balance_after)]),
        "No hours bought or spent yet.",
      ),
    );
  }

  async function refreshBookings() {
    const page = await get("/api/booking/bookings", { limit: 50 });
    const rows = page.items.map((booking) => {
      const vm = vms.find((candidate) => candidate.id === booking.vm_id);
      const cell = h("div", { class: "row" });
      if (booking.refund_if_cancelled !== null) {
        const status = mineStatus;
        const button = h(
          "button",
          { class: "danger", "aria-label": `Cancel ${booking.game_name} on ${vm ? vm.name : booking.vm_id}, refund ${booking.refund_if_cancelled} hours` },
          `Cancel (refund ${booking.refund_if_cancelled} h)`,
        );
        const key = newIdempotencyKey();
        button.addEventListener("click", () =>
          busy(button, async () => {
            const cancelled = await send("POST", `/api/booking/bookings/${booking.id}/cancel`, undefined, { idempotencyKey: key });
            say(status, `Cancelled; ${cancelled.hours_refunded} hours back.`);
            await Promise.all([refreshBookings(), refreshWallet()]);
          }, status),
        );
        cell.append(button);
      }
      return [
        booking.game_name,
        `${booking.service} · ${booking.realm}`,
        vm ? vm.name : booking.vm_id,
        when(booking.start_time),
        `${booking.duration} h`,
        badge(booking.status, STATUS_KIND[booking.status]),
        cell,
      ];
    });
    fill(mine, table("!My bookings", ["Game", "Service", "VM", "Starts", "Length", "Status", ""], rows, "No bookings yet."));
  }

  fill(
    main,
    pageHeader("Bookings"),
    h("div", { class: "card figures" }, h("div", { class: "figure" }, h("span", { class: "label", id: "hours-balance-label" }, "Hours balance"), balance)),
    h("div", { class: "grid" }, shop(packs, refreshWallet), estimate(serviceOptions)),
    book(serviceOptions, vms, () => Promise.all([refreshBookings(), refreshWallet()])),
    timeline(),
    section("My bookings", mine, mineStatus),
    section("Hours ledger", ledger),
  );
  balance.setAttribute("aria-labelledby", "hours-balance-label");
  await Promise.all([refreshWallet(), refreshBookings()]);
  const offs = ["booking_started", "booking_ended"].map((type) => live.on(type, () => refreshBookings().catch(() => {})));
  return () => offs.forEach((off) => off());
}

function shop(packs, after) {
  const status = notice();
  const rows = packs
    .filter((pack) => pack.active)
    .map((pack) => {
      // One key per purchase: a double click or a retry buys once; a new key after it went through.
      let key = newIdempotencyKey();
      const button = h("button", { class: "primary", "aria-label": `Buy ${pack.name}` }, "Buy");
      button.addEventListener("click", () =>
        busy(button, async () => {
          const credit = await send("POST", "/api/booking/shop/buy", { pack_id: pack.id }, { idempotencyKey: key });
          key = newIdempotencyKey();
          say(status, `Bought ${pack.name}: ${credit.hours_added} hours added, ${credit.new_balance} in all.`);
          await after();
        }, status),
      );
      return [pack.name, `${pack.hours} h`, money(pack.price, pack.currency), button];
    });
  return section("Shop", table("!Hour packs", ["Pack", "Hours", "Price", ""], rows, "No packs on sale."), status);
}

function estimate(serviceOptions) {
  const status = notice();
  const result = h("p", { class: "estimate", "aria-live": "polite" });
  return section(
    "Price estimate",
    form(
      { class: "row", "aria-label": "Price estimate" },
      [field("Service", select("service", serviceOptions)), field("Hours", h("input", { name: "hours", type: "number", min: "1", max: "1000", value: "10", required: true })), h("button", { type: "submit" }, "Estimate")],
      async (values) => {
        const price = await get("/api/booking/price", { service: values.service, hours: values.hours });
        const discount = price.discount_applied ? ` (${price.discount_applied} % off ${money(price.total_price)})` : "";
        result.textContent = `${price.hours} h: ${money(price.final_price)}${discount}`;
        status.textContent = "";
      },
      status,
    ),
    result,
    status,
  );
}

function book(serviceOptions, vms, after) {
  const status = notice();
  const found = h("div", { "aria-live": "polite" });
  const start = new Date(Date.now() + 3600_000);
  start.setMinutes(0, 0, 0);
  const search = form(
    { class: "row", "aria-label": "Find a free VM" },
    [
      field("Service", select("service", serviceOptions)),
      field("Start", h("input", { name: "start", type: "datetime-local", value: localInput(start), required: true })),
      field("Hours", h("input", { name: "duration", type: "number", min: "1", max: "720", value: "2", required: true })),
      field("Realm", h("input", { name: "realm", value: "main", required: true, maxlength: "64" })),
      field("Game name", h("input", { name: "game_name", required: true, maxlength: "64", placeholder: "My server" })),
      h("button", { type: "submit", class: "primary" }, "Find free VMs"),
    ],
    async (values) => {
      const startTime = new Date(values.start).toISOString();
      const free = await get("/api/booking/availability", { start: startTime, duration: values.duration, service: values.service });
      status.textContent = "";
      if (free.count === 0) return fill(found, h("p", { class: "empty" }, "No VM is free then; try another time."));
      // One key per booking asked for: pressing twice books once.
      const key = newIdempotencyKey();
      const buttons = free.vms.map((vm) => {
        const button = h("button", { class: "primary", "aria-label": `Book ${vm.name}` }, `Book ${vm.name}`);
        button.addEventListener("click", () =>
          busy(button, async () => {
            const booking = await send(
              "POST",
              "/api/booking/bookings",
              { service: values.service, realm: values.realm, game_name: values.game_name, duration: Number(values.duration), start_time: startTime, vm_id: vm.id },
              { idempotencyKey: key },
            );
            fill(found);
            say(status, `Booked ${vm.name} from ${when(booking.start_time)} for ${booking.duration} h.`);
            await after();
          }, status),
        );
        return h("li", {}, button, ` ${vm.region} · ${vm.cpu} CPU · ${vm.memory} GB`);
      });
      fill(found, h("p", {}, `${free.count} free from ${when(free.start_time)} to ${when(free.end_time)}:`), h("ul", { class: "plain-list" }, buttons));
    },
    status,
  );
  return section("Book a server", search, found, status, vms.length ? null : h("p", { class: "empty" }, "No VMs yet."));
}

/** A day's timeline: when each VM is taken (the public schedule, one read). */
function timeline() {
  const status = notice();
  const board = h("div", { class: "timeline", "aria-live": "polite" });
  const today = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  const dateInput = h("input", { name: "day", type: "date", value: `${today.getFullYear()}-${pad(today.getMonth() + 1)}-${pad(today.getDate())}`, required: true });
  const show = form(
    { class: "row", "aria-label": "Timeline of the VMs" },
    [field("Day", dateInput), h("button", { type: "submit" }, "Show day")],
    async (values) => {
      const midnight = new Date(`${values.day}T00:00`);
      const dayMs = 24 * 3600_000;
      const schedule = await get("/api/booking/schedule", { start: midnight.toISOString(), hours: 24 });
      const lanes = schedule.vms.map((vm) => {
        const track = h("div", { class: `track${vm.status === "maintenance" ? " maintenance" : ""}`, role: "img" });
        let takenMs = 0;
        for (const taken of vm.taken) {
          const from = Math.max(0, new Date(taken.start_time) - midnight);
          const to = Math.min(dayMs, new Date(taken.end_time) - midnight);
          takenMs += to - from;
          track.append(h("div", { class: "slot", style: `left:${(from / dayMs) * 100}%;width:${((to - from) / dayMs) * 100}%` }));
        }
        const hours = Math.round(takenMs / 3600_000);
        track.setAttribute("aria-label", `${vm.name}: ${vm.status === "maintenance" ? "in maintenance" : `${hours} of 24 hours taken`}`);
        return h("div", { class: "lane" }, h("span", {}, vm.name), track);
      });
      fill(board, h("div", { class: "hours" }, h("span"), h("div", {}, h("span", {}, "00:00"), h("span", {}, "12:00"), h("span", {}, "24:00"))), lanes);
      say(status, `${day(midnight.toISOString())}: taken hours in colour.`);
    },
    status,
  );
  return section("Timeline", show, board, status);
}
