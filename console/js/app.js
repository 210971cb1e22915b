// The console's shell: sign-in, the header (who, the bell, the live state), the navigation by
// role, and the hash router that loads each page's module when it is first opened.
import * as api from "./api.js";
import * as live from "./live.js";
import * as inbox from "./inbox.js";
import { errorText, field, fill, h, say, notice } from "./ui.js";

// Each page: its route, its name in the navigation, who sees it (a permission), its module.
const PAGES = [
  { route: "bookings", title: "Bookings", module: "bookings" },
  { route: "tickets", title: "Tickets", module: "tickets" },
  { route: "leveling", title: "Leveling", module: "leveling" },
  { route: "notifications", title: "Notifications", module: "notifications" },
  { route: "account", title: "Account", module: "account" },
  { route: "desk", title: "Ticket desk", module: "desk", needs: "tickets:staff" },
  { route: "users", title: "Users", module: "users", needs: "users:read" },
  { route: "catalogue", title: "Catalogue", module: "catalogue", needs: "booking:admin" },
  { route: "leveling-admin", title: "Leveling admin", module: "leveling-admin", needs: "leveling:admin" },
  { route: "settings", title: "Settings", module: "settings", needs: "booking:admin" },
  { route: "dashboard", title: "Dashboard", module: "dashboard", needs: "stats:read" },
];

const root = document.getElementById("app");
const session = { me: null, can: () => false };
let cleanup = null;
let renderedRoute = null;

function hintCookiePresent() {
  return document.cookie.split(";").some((part) => part.trim().startsWith("guildhall_signed_in="));
}

function clearHintCookie() {
  document.cookie = "guildhall_signed_in=; Max-Age=0; Path=/; Secure; SameSite=Strict";
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, queryString = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(queryString) };
}

/** Marks the first moment the page can be used (a performance mark the browser tests read). */
function usable() {
  if (performance.getEntriesByName("guildhall-usable").length === 0) performance.mark("guildhall-usable");
}

// ---- sign-in ---------------------------------------------------------------------------

async function showLogin(message = null) {
  if (cleanup) cleanup();
  cleanup = null;
  renderedRoute = null;
  document.title = "Log in · Guildhall";
  const status = notice();
  if (message) say(status, new Error(message));
  const username = h("input", { name: "username", autocomplete: "username", required: true, maxlength: "64" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, maxlength: "128" });
  const discord = h("div", { class: "discord-slot" });
  const loginForm = h(
    "form",
    { class: "login-form", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Guildhall"),
    h("p", { class: "muted" }, "Log in to book game servers, talk to staff and follow your level."),
    field("Username", username),
    field("Password", password),
    h("button", { type: "submit", class: "primary" }, "Log in"),
    status,
    discord,
  );
  loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = loginForm.querySelector("button[type=submit]");
    if (button.disabled) return;
    button.disabled = true;
    try {
      await api.login(username.value.trim(), password.value);
      password.value = "";
      await enter();
    } catch (error) {
      say(status, error);
    } finally {
      button.disabled = false;
    }
  });
  fill(root, h("main", { class: "login", id: "main" }, loginForm));
  username.focus();
  usable();
  try {
    const health = await api.get("/api/auth/health");
    if (health.components && health.components.discord_login === "on") {
      const back = `${location.origin}/#/login`;
      const href = `/api/discord/auth?redirect=1&platform=web&return_url=${encodeURIComponent(back)}`;
      fill(discord, h("a", { class: "button discord", href }, "Log in with Discord"));
    }
  } catch {
    // No Discord button when auth cannot say.
  }
}

// ---- the shell -------------------------------------------------------------------------

function navigation() {
  const pages = PAGES.filter((page) => !page.needs || session.can(page.needs));
  const member = pages.filter((page) => !page.needs);
  const staff = pages.filter((page) => page.needs);
  const link = (page) => h("li", {}, h("a", { href: `#/${page.route}`, dataset: { route: page.route } }, page.title));
  return h(
    "nav",
    { id: "nav", "aria-label": "Main" },
    h("ul", {}, member.map(link)),
    staff.length ? h("p", { class: "nav-group", id: "staff-nav" }, "Staff") : null,
    staff.length ? h("ul", { "aria-labelledby": "staff-nav" }, staff.map(link)) : null,
  );
}

function bellIcon() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "22");
  svg.setAttribute("height", "22");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z");
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

function header() {
  const bellCount = h("span", { class: "count", id: "bell-count" }, "0");
  const bell = h("a", { href: "#/notifications", class: "bell", id: "bell", "aria-label": "Notifications, 0 unread" }, bellIcon(), bellCount);
  const liveState = h("span", { class: "live-state", id: "live-state", role: "status" }, "offline");
  const menu = h("button", { class: "plain menu-toggle", "aria-expanded": "false", "aria-controls": "nav", "aria-label": "Menu" }, "☰");
  menu.addEventListener("click", () => {
    const open = document.body.classList.toggle("nav-open");
    menu.setAttribute("aria-expanded", String(open));
  });
  const logout = h("button", { class: "plain", id: "logout" }, "Log out");
  logout.addEventListener("click", async () => {
    logout.disabled = true;
    await api.logout().catch(() => {});
  });
  const disposers = [
    inbox.onChange(({ unread }) => {
      bellCount.textContent = String(unread);
      bellCount.hidden = unread === 0;
      bell.setAttribute("aria-label", `Notifications, ${unread} unread`);
    }),
    live.onStatus((state) => {
      liveState.textContent = state;
      liveState.dataset.state = state;
    }),
  ];
  const element = h(
    "header",
    { class: "top" },
    menu,
    h("a", { class: "brand", href: "#/bookings" }, h("img", { src: "/console/icon.svg", alt: "", width: "24", height: "24" }), h("span", { class: "brand-name" }, "Guildhall")),
    h("span", { class: "spacer" }),
    liveState,
    bell,
    h("span", { class: "who", id: "signed-in-user", title: session.me.role }, session.me.username),
    logout,
  );
  return { element, dispose: () => disposers.forEach((dispose) => dispose()) };
}

function bannerArea() {
  const area = h("div", { class: "banner-area", "aria-live": "polite" });
  const dispose = inbox.onChange(({ banner }) => {
    if (!banner) return fill(area);
    const read = h("button", { class: "plain" }, "Mark read");
    read.addEventListener("click", () => inbox.markRead(banner.id).catch(() => inbox.dismissBanner()));
    fill(area, h("div", { class: `banner ${banner.priority || "normal"}`, role: "alert" }, h("strong", {}, banner.title), h("span", {}, banner.message), read));
  });
  return { element: area, dispose };
}

let shell = null;

function buildShell() {
  const top = header();
  const banner = bannerArea();
  const main = h("main", { id: "main", tabindex: "-1" });
  fill(root, h("a", { class: "skip", href: "#main", onclick: (event) => { event.preventDefault(); main.focus(); } }, "Skip to content"), top.element, h("div", { class: "layout" }, navigation(), h("div", { class: "content" }, banner.element, main)));
  shell = { main, dispose: () => { top.dispose(); banner.dispose(); } };
}

async function route() {
  if (!session.me || !shell) return;
  const { parts, query } = parseHash();
  let name = parts[0] || "bookings";
  let page = PAGES.find((candidate) => candidate.route === name && (!candidate.needs || session.can(candidate.needs)));
  if (!page) {
    name = "bookings";
    page = PAGES[0];
  }
  const key = location.hash;
  if (key === renderedRoute) return;
  renderedRoute = key;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.route === page.route) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.body.classList.remove("nav-open");
  if (cleanup) cleanup();
  cleanup = null;
  fill(shell.main, h("p", { class: "muted" }, "Loading…"));
  try {
    const module = await import(`./pages/${page.module}.js`);
    if (key !== renderedRoute) return;
    fill(shell.main);
    cleanup = (await module.render(shell.main, { ...session, params: parts.slice(1), query })) || null;
    usable();
    const heading = shell.main.querySelector("h1");
    if (heading && document.activeElement === document.body) heading.focus({ preventScroll: true });
  } catch (error) {
    fill(shell.main, h("p", { class: "notice error", role: "alert" }, errorText(error)));
  }
}

async function enter() {
  const me = await api.get("/api/users/me");
  session.me = me;
  const permissions = new Set(me.permissions || []);
  session.can = (permission) => permissions.has(permission);
  if (shell) shell.dispose();
  buildShell();
  live.start();
  inbox.start().catch(() => {});
  const { parts } = parseHash();
  if (parts[0] === "login" || parts.length === 0) history.replaceState(null, "", "#/bookings");
  renderedRoute = null;
  await route();
}

function leave(reason) {
  live.stop();
  inbox.stop();
  clearHintCookie();
  if (shell) shell.dispose();
  shell = null;
  session.me = null;
  const words = {
    logged_out: null,
    session_ended: "Your session has ended. Please log in again.",
    revoked: "Your session was ended. Please log in again.",
    disabled: "Your account has been disabled.",
    account_disabled: "Your account has been disabled.",
    password_changed: "Your password was changed. Please log in again.",
    role_changed: "Your role changed. Please log in again.",
    token_expired: "Your session expired. Please log in again.",
  };
  const message = reason in words ? words[reason] : "Please log in again.";
  history.replaceState(null, "", "#/login");
  showLogin(message);
}

api.onSessionEnd(leave);
window.addEventListener("hashchange", route);

async function boot() {
  const { parts, query } = parseHash();
  // The end of a Discord login: `#/login?code=…`.
  if (parts[0] === "login" && query.get("code")) {
    try {
      await api.exchange(query.get("code"));
      history.replaceState(null, "", "#/bookings");
      return enter();
    } catch (error) {
      history.replaceState(null, "", "#/login");
      return showLogin(errorText(error));
    }
  }
  if (hintCookiePresent() && (await api.resume())) {
    try {
      return await enter();
    } catch (error) {
      return showLogin(errorText(error));
    }
  }
  clearHintCookie();
  return showLogin(parts[0] === "login" && query.get("error") ? query.get("error_description") || query.get("error") : null);
}

boot();
