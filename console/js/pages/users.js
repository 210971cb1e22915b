// Users (staff): find accounts. Admins also change a role, disable or enable an account, grant
// hours (or take them back) and make password accounts; moderators read the list only.
import { get, newIdempotencyKey, send } from "../api.js";
import { badge, busy, day, field, fill, form, h, notice, pageHeader, say, section, select, table } from "../ui.js";

const ROLES = [["user", "User"], ["moderator", "Moderator"], ["admin", "Admin"]];
const PAGE_SIZE = 50;

export async function render(main, ctx) {
  const admin = ctx.can("users:write");
  const grant = admin ? grantPanel() : null;
  const list = userList(ctx, admin, grant);
  fill(
    main,
    pageHeader("Users"),
    section("Find accounts", list.element),
    admin ? h("div", { class: "grid" }, grant.element, createPanel(list.add)) : null,
  );
  await list.search(ctx.query.get("q") || "");
}

// ---- the list ---------------------------------------------------------------------------

function userList(ctx, admin, grant) {
  const state = { items: [], next: null, q: "" };
  const status = notice();
  const results = h("div", { class: "nowrap" });
  const more = h("button", { type: "button", hidden: true }, "More accounts");
  const query = h("input", { name: "q", type: "search", maxlength: "64", autocomplete: "off", value: ctx.query.get("q") || "" });

  const show = () => {
    const headers = ["Username", "Role", "Discord", "Disabled", "Created"];
    const rows = state.items.map((user) => userCells(user, admin, grant));
    fill(results, table("!Accounts", admin ? [...headers, "Actions"] : headers, rows, "No account matches."));
    more.hidden = !state.next;
  };
  const load = async (cursor) => {
    const page = await get("/api/users", { q: state.q, limit: PAGE_SIZE, cursor });
    state.items = cursor ? [...state.items, ...page.items] : page.items;
    state.next = page.next_cursor;
    show();
    say(status, `${state.items.length} account${state.items.length === 1 ? "" : "s"} shown${state.next ? ", more to load" : ""}.`);
  };
  const search = async (q) => {
    state.q = q.trim();
    try {
      await load(null);
    } catch (error) {
      say(status, error);
    }
  };
  more.addEventListener("click", () => busy(more, () => load(state.next), status));

  const searchForm = form(
    { class: "row", role: "search", "aria-label": "Accounts" },
    [field("Username contains", query), h("button", { type: "submit", class: "primary" }, "Search")],
    (values) => {
      state.q = (values.q || "").trim();
      return load(null);
    },
    status,
  );
  const add = (user) => {
    state.items = [user, ...state.items.filter((item) => item.user_id !== user.user_id)];
    show();
  };
  return { element: h("div", {}, searchForm, status, results, more), search, add };
}

/** One account's cells; the role, state and button are changed in place so focus stays put. */
function userCells(user, admin, grant) {
  const role = h("span", {}, user.role);
  const disabled = h("span");
  const showState = () => fill(disabled, user.disabled ? badge("disabled", "bad") : badge("no", "ok"));
  showState();
  const discord = user.discord_id
    ? h("span", {}, user.discord_username || "linked", " ", h("small", {}, user.discord_id))
    : h("span", { class: "muted" }, "not linked");
  const cells = [h("strong", {}, user.username), role, discord, disabled, day(user.created_at)];
  if (!admin) return cells;
  const changed = (next) => {
    Object.assign(user, next);
    role.textContent = user.role;
    showState();
  };
  return [...cells, userActions(user, changed, grant)];
}

function userActions(user, changed, grant) {
  const status = notice();
  const name = user.username;
  const roleSelect = select("role", ROLES, user.role, { "aria-label": `Role of ${name}` });
  const roleButton = h("button", { type: "button", "aria-label": `Change role of ${name}` }, "Change role");
  const toggle = h("button", { type: "button" });
  const showToggle = () => {
    const verb = user.disabled ? "Enable" : "Disable";
    toggle.textContent = verb;
    toggle.className = user.disabled ? "" : "danger";
    toggle.setAttribute("aria-label", `${verb} ${name}`);
  };
  showToggle();
  const patch = async (body, words) => {
    changed(await send("PATCH", `/api/users/${encodeURIComponent(user.user_id)}`, body));
    showToggle();
    say(status, words());
  };
  roleButton.addEventListener("click", () =>
    busy(roleButton, async () => {
      if (roleSelect.value === user.role) return say(status, `${name} is already ${user.role}.`);
      return patch({ role: roleSelect.value }, () => `${name} is now ${user.role}; their sessions were ended.`);
    }, status),
  );
  toggle.addEventListener("click", () =>
    busy(toggle, () => patch({ disabled: !user.disabled }, () => (user.disabled ? `${name} is disabled; their sessions were ended.` : `${name} is enabled.`)), status),
  );
  const hours = h("button", { type: "button", "aria-label": `Grant hours to ${name}`, onclick: () => grant.open(user) }, "Grant hours");
  return h("div", {}, h("div", { class: "actions" }, roleSelect, roleButton, toggle, hours), status);
}

// ---- grant hours ------------------------------------------------------------------------

function grantPanel() {
  const body = h("div", {}, h("p", { class: "muted" }, "Choose “Grant hours” on an account to give it hours or take some back."));
  const heading = h("h2", { tabindex: "-1" }, "Grant hours");
  const element = h("section", { class: "card", "aria-label": "Grant hours" }, heading, body);

  const open = (user) => {
    let key = newIdempotencyKey();
    const status = notice();
    const balance = h("p", { class: "muted" }, "Balance: loading…");
    const hours = h("input", { name: "hours", type: "number", required: true, min: "-10000", max: "10000", step: "1" });
    const reason = h("input", { name: "reason", required: true, maxlength: "200" });
    const grantForm = form(
      {},
      [
        field("Hours", hours, "Whole hours, −10000 to 10000, not 0; negative takes hours back (never below 0)."),
        field("Reason", reason, "Kept in the ledger with the entry."),
        h("button", { type: "submit", class: "primary", "aria-label": `Grant hours to ${user.username}` }, "Grant"),
      ],
      async (values) => {
        const amount = Number(values.hours);
        if (!Number.isInteger(amount) || amount === 0) throw new Error("Hours must be a whole number other than 0.");
        const credit = await send("POST", "/api/booking/admin/grant", { user_id: user.user_id, hours: amount, reason: values.reason.trim() }, { idempotencyKey: key });
        key = newIdempotencyKey();
        grantForm.reset();
        balance.textContent = `Balance: ${credit.new_balance} h`;
        const verb = credit.hours_added < 0 ? `Took ${-credit.hours_added} h from` : `Granted ${credit.hours_added} h to`;
        say(status, `${verb} ${user.username}. New balance: ${credit.new_balance} h.`);
      },
      status,
    );
    heading.textContent = `Grant hours to ${user.username}`;
    fill(body, balance, grantForm, status);
    heading.focus();
    get("/api/booking/wallet", { user_id: user.user_id, limit: 1 })
      .then((wallet) => (balance.textContent = `Balance: ${wallet.hours_balance} h`))
      .catch((error) => say(status, error));
  };
  return { element, open };
}

// ---- make an account ---------------------------------------------------------------------

function createPanel(added) {
  let key = newIdempotencyKey();
  const status = notice();
  const username = h("input", { name: "username", required: true, minlength: "3", maxlength: "32", pattern: " *[A-Za-z0-9._\\-]{3,32} *", autocomplete: "off" });
  const password = h("input", { name: "password", type: "password", required: true, minlength: "8", maxlength: "128", autocomplete: "new-password" });
  const createForm = form(
    {},
    [
      field("Username", username, "3 to 32 letters, digits, “.”, “_” or “-”."),
      field("Password", password, "8 to 128 characters, not the username."),
      field("Role", select("role", ROLES, "user")),
      h("button", { type: "submit", class: "primary" }, "Make account"),
    ],
    async (values) => {
      const user = await send("POST", "/api/users", { username: values.username.trim(), password: values.password, role: values.role }, { idempotencyKey: key });
      key = newIdempotencyKey();
      createForm.reset();
      added(user);
      say(status, `Made ${user.username} (${user.role}).`);
    },
    status,
  );
  return section("Make an account", createForm, status);
}
