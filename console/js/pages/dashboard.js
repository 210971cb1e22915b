// Dashboard (staff): each service's figures over the last 7, 30 or 90 days as totals and small
// bar charts drawn here in SVG, and the health of the whole stack.
import { ApiError, get } from "../api.js";
import { badge, busy, field, figure, fill, h, notice, pageHeader, say, section, select, table, when } from "../ui.js";
import { accountName } from "../editing.js";

const DAYS = [["7", "7 days"], ["30", "30 days"], ["90", "90 days"]];
const HEALTH_KIND = { ok: "ok", degraded: "warn", down: "bad" };

export async function render(main, ctx) {
  const wanted = ctx.query.get("days");
  const days = select("days", DAYS, DAYS.some(([value]) => value === wanted) ? wanted : "30");
  const health = healthPart();
  const parts = SOURCES.map((source) => statsPart(source, ctx));
  let generation = 0;
  const load = () => {
    const mine = ++generation;
    return Promise.all(parts.map((part) => part.load(Number(days.value), () => mine === generation)));
  };
  days.addEventListener("change", load);
  fill(main, pageHeader("Dashboard"), h("div", { class: "row dashboard-days" }, field("Days", days)), health.element, parts.map((part) => part.element));
  await Promise.all([health.load(), load()]);
}

// ---- figures and charts ---------------------------------------------------------------------

/** A big number with its label (leveling-admin shows a member's figures with it too). */
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

const shortDay = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone: "UTC" });
const dayLabel = (date) => shortDay.format(new Date(`${date}T00:00:00Z`));

/** One daily series as bars, with its highest value and its first and last day. */
function barChart(title, daily) {
  const series = daily.series || [];
  const [width, height, top, bottom] = [300, 120, 14, 16];
  const values = series.map((point) => point.value);
  const max = Math.max(0, ...values);
  const min = Math.min(0, ...values);
  // The zero line: at the bottom when nothing happened, above the negative bars when some are.
  const ceiling = max || (min ? 0 : 1);
  const span = ceiling - min;
  const plot = height - top - bottom;
  const zero = top + (ceiling / span) * plot;
  const step = width / Math.max(1, series.length);
  const bars = series.map((point, index) => {
    const size = (Math.abs(point.value) / span) * plot;
    const y = point.value >= 0 ? zero - size : zero;
    const x = index * step + step * 0.1;
    return svg("rect", { class: "bar", x: x.toFixed(2), y: y.toFixed(2), width: (step * 0.8).toFixed(2), height: size.toFixed(2) }, svg("title", {}, `${point.date}: ${point.value}`));
  });
  const first = series[0];
  const last = series[series.length - 1];
  const words = series.length
    ? `${title}: ${daily.total} in all over ${series.length} days, ${dayLabel(first.date)} to ${dayLabel(last.date)}; at most ${max} in a day.`
    : `${title}: no data.`;
  const labels = series.length
    ? [svg("text", { x: 0, y: height - 3 }, dayLabel(first.date)), svg("text", { x: width, y: height - 3, "text-anchor": "end" }, dayLabel(last.date))]
    : [svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "No data")];
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": words },
    svg("line", { class: "axis", x1: 0, x2: width, y1: zero.toFixed(2), y2: zero.toFixed(2) }),
    ...bars,
    svg("text", { x: 0, y: 10 }, `max ${max}`),
    ...labels,
  );
  return h("div", { class: "chart" }, h("h3", {}, title, " ", h("small", {}, `(${daily.total})`)), chart);
}

function charts(entries) {
  return h("div", { class: "charts" }, entries.map(([title, daily]) => barChart(title, daily)));
}

const sum = (figures) => Object.values(figures).reduce((total, daily) => total + daily.total, 0);
const each = (figures, name) => Object.entries(figures).map(([key, daily]) => [name(key), daily]);

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

const figures = (...items) => h("div", { class: "figures" }, items.map(([label, value]) => figure(label, value)));

// ---- the five services ------------------------------------------------------------------------

const SOURCES = [
  {
    title: "Accounts",
    path: "/api/users/stats",
    draw: (s) => [
      figures(["Accounts", s.users_total], ["Live sessions", s.sessions_live], ["New accounts", s.new_users.total], ["Sign-ins", sum(s.logins)]),
      charts([["New accounts", s.new_users], ["Members seen", s.active_users], ...each(s.logins, (method) => `Sign-ins: ${method}`)]),
    ],
  },
  {
    title: "Bookings",
    path: "/api/booking/stats/admin",
    draw: (s) => [
      figures(["Bookings made", sum(s.bookings)], ["Hours booked", s.hours_booked.total], ["Hours refunded", s.hours_refunded.total], ["Hours sold", sum(s.hours_sold)]),
      charts([...each(s.bookings, (status) => `Bookings now ${status}`), ["Hours booked", s.hours_booked], ["Hours refunded", s.hours_refunded], ...each(s.hours_sold, (pack) => `Hours sold: ${pack}`)]),
      table("VM use", ["VM", "Booked hours", "Utilisation"], s.vms.map((vm) => [vm.name, String(vm.booked_hours), `${Math.round(vm.utilisation * 100)} %`]), "No VMs."),
    ],
  },
  {
    title: "Tickets",
    path: "/api/tickets/stats",
    draw: (s, ctx) => [
      figures(
        ["Opened", s.opened.total],
        ["Closed", s.closed.total],
        ["Open now", Object.values(s.open_now).reduce((a, b) => a + b, 0)],
        ["First staff reply (median / p90)", `${duration(s.first_staff_reply.median_seconds)} / ${duration(s.first_staff_reply.p90_seconds)}`],
        ["Time to close (median / p90)", `${duration(s.time_to_close.median_seconds)} / ${duration(s.time_to_close.p90_seconds)}`],
      ),
      charts([["Opened", s.opened], ["Closed", s.closed]]),
      h("div", { class: "grid" }, [
        table("Open now by category", ["Category", "Open"], Object.entries(s.open_now).map(([category, count]) => [category, String(count)]), "No open tickets."),
        table("Staff work", ["Staff", "Replies", "Closes"], s.staff.map((member) => [accountName(ctx, member.user_id), String(member.replies), String(member.closes)]), "No staff replies or closes."),
      ]),
    ],
  },
  {
    title: "Leveling",
    path: "/api/leveling/stats",
    draw: (s) => [
      figures(["Members", s.members_total], ["Level-ups", s.level_ups.total], ...Object.entries(s.xp_events).map(([source, daily]) => [`XP events: ${source}`, daily.total])),
      charts([...each(s.xp_events, (source) => `XP events: ${source}`), ["Level-ups", s.level_ups]]),
      table("Members by tier", ["Tier", "Members"], s.members_by_tier.map((tier) => [tier.tier, String(tier.members)]), "No members yet."),
    ],
  },
  {
    title: "Notifications",
    path: "/api/notifications/stats",
    draw: (s) => [
      figures(["Inbox entries", sum(s.inbox)], ["Pushes sent", s.pushes_sent.total], ["Pushes failed", s.pushes_failed.total], ["Live connections", s.live_sockets], ...Object.entries(s.devices).map(([platform, count]) => [`Devices: ${platform}`, count])),
      charts([...each(s.inbox, (kind) => `Inbox: ${kind}`), ["Pushes sent", s.pushes_sent], ["Pushes failed", s.pushes_failed]]),
    ],
  },
];

function statsPart(source, ctx) {
  const range = h("p", { class: "muted" }, "Loading…");
  const body = h("div");
  const load = async (days, current) => {
    try {
      const answer = await get(source.path, { days });
      if (!current()) return;
      fill(body, source.draw(answer, ctx));
      range.textContent = `${answer.days} days, ${answer.since} to ${answer.until} (UTC).`;
    } catch (error) {
      if (!current()) return;
      const status = notice();
      say(status, error);
      fill(body, status);
      range.textContent = `The last ${days} days:`;
    }
  };
  return { element: section(source.title, range, body), load };
}

// ---- the stack's health ---------------------------------------------------------------------------

/**
 * `GET /api/health` answers 503 with the same document when a service is not ok, which
 * api.js would turn into an error without it: asked here directly (a public route, no token).
 */
async function stackHealth() {
  const response = await fetch("/api/health", { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (body && body.services) return body;
  const error = body && body.error ? body.error : {};
  throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || `The health check answered ${response.status}.`);
}

function healthPart() {
  const status = notice();
  const list = h("ul", { class: "health" });
  const again = h("button", { type: "button" }, "Check again");
  const load = async () => {
    try {
      const health = await stackHealth();
      fill(list, Object.entries(health.services).map(([name, state]) => h("li", {}, badge(`${name}: ${state}`, HEALTH_KIND[state] || "bad"))));
      const failing = Object.entries(health.services).filter(([, state]) => state !== "ok");
      const checked = `checked ${when(health.timestamp)}`;
      if (failing.length === 0) say(status, `Every service is ok (${checked}).`);
      else say(status, new Error(`Not ok: ${failing.map(([name, state]) => `${name} ${state}`).join(", ")} (${checked}).`));
    } catch (error) {
      say(status, error);
    }
  };
  again.addEventListener("click", () => busy(again, load, status));
  return { element: section("Services", list, status, again), load };
}
