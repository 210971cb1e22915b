// Editing pieces the staff pages share: controls named for the row they edit, a Save that sends
// only what changed, a form that adds an item, and a settings document with its history.
import { get, send } from "./api.js";
import { busy, field, fill, form, h, notice, say, section, table, when } from "./ui.js";

// ---- rows ----------------------------------------------------------------------------------

export function input(value, label, attributes = {}) {
  return h("input", { value: String(value), "aria-label": label, required: true, ...attributes });
}

export function checkbox(checked, label) {
  return h("input", { type: "checkbox", checked, "aria-label": label });
}

function valueOf(control) {
  if (control.type === "checkbox") return control.checked;
  if (control.type === "number") {
    const number = control.value === "" ? Number.NaN : Number(control.value);
    if (!Number.isFinite(number)) throw new Error(`${control.getAttribute("aria-label")}: enter a number.`);
    return number;
  }
  return control.value.trim();
}

/** A Save button for one row: sends the fields whose control differs from `item`, then adopts the answer. */
export function saveButton(item, label, controls, patch, words = () => `${label} saved.`) {
  const status = notice();
  const button = h("button", { type: "button", "aria-label": `Save ${label}` }, "Save");
  button.addEventListener("click", () =>
    busy(button, async () => {
      const body = {};
      for (const [name, control] of Object.entries(controls)) {
        const value = valueOf(control);
        if (value !== item[name]) body[name] = value;
      }
      if (Object.keys(body).length === 0) return say(status, `Nothing to save for ${label}.`);
      Object.assign(item, await patch(body));
      return say(status, words(item));
    }, status),
  );
  return { button, status };
}

/** A form that adds an item: `submit(values, form, status)`, the status line under the form. */
export function addForm(title, controls, submit) {
  const status = notice();
  const button = h("button", { type: "submit", class: "primary" }, "Add");
  const element = form({ class: "row", "aria-label": title }, [...controls, button], (values, formElement) => submit(values, formElement, status), status);
  const note = h("p", { class: "muted" }, "The id: lower-case letters, digits, “_” or “-”, kept for good.");
  return h("div", {}, h("h3", {}, title), note, element, status);
}

// ---- settings documents -----------------------------------------------------------------------

/** Every leaf of a settings document by its path (`discount_tiers[0].percent`), as text; a list of plain values is one leaf. */
function leaves(value, path = "", into = new Map()) {
  if (Array.isArray(value) && value.every((item) => typeof item !== "object" || item === null)) {
    into.set(path, value.length ? value.join(", ") : "none");
  } else if (Array.isArray(value)) {
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

