// Small DOM helpers every page uses: elements, forms, tables, toasts, dates and errors in words.
import { ApiError } from "./api.js";

/**
 * `h("button", {class: "primary", onclick}, "Save")`: an element with attributes (`on…` become
 * listeners, `false`/null are left out) and children (strings become text, arrays are spread).
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (name === "style") element.style.cssText = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces an element's content. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let fieldCounter = 0;

/** A labelled control: `field("Hours", h("input", {type: "number", name: "hours"}))`. */
export function field(label, control, hint = null) {
  const id = control.id || `f${++fieldCounter}`;
  control.id = id;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("small", { id: hintId }, hint) : null);
}

/** An error in words: the API's own message, and when to try again. */
export function errorText(error) {
  if (error instanceof ApiError) {
    const wait = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : "";
    return `${error.message}${wait}`;
  }
  if (error instanceof TypeError) return "The server cannot be reached. Check the connection and try again.";
  return error && error.message ? error.message : String(error);
}

/** A status line under a form: `say(el, "Saved")`, `say(el, error)`. */
export function say(element, what) {
  const isError = what instanceof Error;
  element.className = isError ? "notice error" : "notice ok";
  element.setAttribute("role", isError ? "alert" : "status");
  element.textContent = isError ? errorText(what) : what;
}

export function notice() {
  return h("p", { class: "notice", "aria-live": "polite" });
}

/**
 * Runs `action` for a button, disabled while it runs (a double click does it once); errors are
 * shown in `status` (or a toast).
 */
export async function busy(button, action, status = null) {
  if (button.disabled) return undefined;
  const hadFocus = document.activeElement === button;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } catch (error) {
    if (status) say(status, error);
    else toast(errorText(error), "error");
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    // A disabled button loses the focus; a keyboard user carries on from where they were.
    if (hadFocus && button.isConnected && (document.activeElement === document.body || document.activeElement === null)) button.focus();
  }
}

/** A form whose submit runs `action(values)`, its submit button busy meanwhile. */
export function form(attributes, children, action, status = null) {
  const element = h("form", { ...attributes, novalidate: false }, children);
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = element.querySelector("button[type=submit]") || element.querySelector("button");
    const values = Object.fromEntries(new FormData(element).entries());
    busy(button, () => action(values, element), status);
  });
  return element;
}

export function toast(message, kind = "info", title = null) {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, title ? h("strong", {}, title) : null, h("span", {}, message));
  const close = h("button", { class: "plain", "aria-label": "Dismiss", onclick: () => item.remove() }, "×");
  item.append(close);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 10_000 : 6_000);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dayOnly = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });

export function when(iso) {
  return iso ? dateTime.format(new Date(iso)) : "—";
}

export function day(iso) {
  return dayOnly.format(new Date(iso));
}

export function ago(iso) {
  if (!iso) return "—";
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return when(iso);
}

/** A table with a caption, headers, and one row per item. */
export function table(caption, headers, rows, empty = "Nothing yet.") {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: caption.startsWith("!") ? "visually-hidden" : "" }, caption.replace(/^!/, "")),
      h("thead", {}, h("tr", {}, headers.map((header) => h("th", { scope: "col" }, header)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))),
    ),
  );
}

export function section(title, ...children) {
  return h("section", { class: "card", "aria-label": title }, h("h2", {}, title), children);
}

export function pageHeader(title, ...actions) {
  document.title = `${title} · Guildhall`;
  return h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, title), actions.length ? h("div", { class: "actions" }, actions) : null);
}

/** A big number with its label (`.figures` holds a row of them). */
export function figure(label, value) {
  return h("div", { class: "figure" }, h("span", { class: "label" }, label), h("span", { class: "value" }, String(value)));
}

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}` }, text);
}

/** A `<select>` of `[value, label]` options. */
export function select(name, options, value = null, attributes = {}) {
  return h(
    "select",
    { name, ...attributes },
    options.map(([optionValue, label]) => h("option", { value: optionValue, selected: String(optionValue) === String(value) }, label)),
  );
}

/** `<input type="datetime-local">` value for a Date (local time, minutes). */
export function localInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function money(value, currency = "") {
  const number = Number(value);
  return `${Number.isFinite(number) ? number.toFixed(2) : value}${currency ? ` ${currency}` : ""}`;
}

export function download(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1_000);
}
