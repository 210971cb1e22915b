// Account: the username, the password, and the live sessions (end one, or all the others).
import { get, request, send } from "../api.js";
import { busy, field, fill, form, h, notice, pageHeader, say, section, table, when, ago } from "../ui.js";

export async function render(main, ctx) {
  const sessions = h("div");
  const sessionStatus = notice();

  async function showSessions() {
    const list = await get("/api/auth/sessions");
    const end = (session) => {
      const button = h("button", { class: "danger", "aria-label": `End the session on ${session.device || session.platform}` }, "End");
      button.addEventListener("click", () =>
        busy(button, async () => {
          await request("DELETE", `/api/auth/sessions/${session.id}`);
          say(sessionStatus, "Session ended.");
          await showSessions();
        }, sessionStatus),
      );
      return button;
    };
    const others = list.items.filter((session) => !session.current);
    const endOthers = h("button", { disabled: others.length === 0 }, "End all other sessions");
    endOthers.addEventListener("click", () =>
      busy(endOthers, async () => {
        for (const session of others) await request("DELETE", `/api/auth/sessions/${session.id}`);
        say(sessionStatus, `${others.length} other sessions ended.`);
        await showSessions();
      }, sessionStatus),
    );
    fill(
      sessions,
      table(
        "!Sessions",
        ["Device", "Signed in", "Last seen", "Expires", ""],
        list.items.map((session) => [`${session.device || session.platform}${session.current ? " (this one)" : ""}`, when(session.created_at), ago(session.last_seen_at), when(session.expires_at), session.current ? "" : end(session)]),
      ),
      h("div", { class: "row" }, endOthers),
    );
  }

  const nameStatus = notice();
  const nameForm = form(
    { class: "row", "aria-label": "Change username" },
    [field("Username", h("input", { name: "username", value: ctx.me.username, required: true, minlength: "3", maxlength: "32", autocomplete: "username" })), h("button", { type: "submit" }, "Save username")],
    async (values) => {
      const user = await send("PATCH", "/api/users/me", { username: values.username });
      ctx.me.username = user.username;
      document.getElementById("signed-in-user").textContent = user.username;
      say(nameStatus, `Your username is now ${user.username}.`);
    },
    nameStatus,
  );

  const passwordStatus = notice();
  const passwordForm = form(
    { "aria-label": "Change password" },
    [
      // For password managers: whose password this is.
      h("input", { name: "account", type: "text", autocomplete: "username", value: ctx.me.username, hidden: true, readonly: true, tabindex: "-1", "aria-hidden": "true" }),
      field("Current password", h("input", { name: "current_password", type: "password", autocomplete: "current-password", maxlength: "128" }), "Leave empty if the account has no password yet (Discord login)."),
      field("New password", h("input", { name: "new_password", type: "password", autocomplete: "new-password", minlength: "8", maxlength: "128", required: true }), "8 to 128 characters, not your username."),
      h("button", { type: "submit" }, "Change password"),
    ],
    async (values, element) => {
      const body = { new_password: values.new_password };
      if (values.current_password) body.current_password = values.current_password;
      await send("POST", "/api/users/me/password", body);
      element.reset();
      say(passwordStatus, "Password changed; your other sessions were ended.");
      await showSessions();
    },
    passwordStatus,
  );

  fill(
    main,
    pageHeader("Account"),
    h("div", { class: "grid" }, section("Username", nameForm, nameStatus), section("Password", passwordForm, passwordStatus)),
    section("Sessions", sessions, sessionStatus),
  );
  await showSessions();
  return undefined;
}
