// Leveling admin: one member (XP, level, reset, tools unlocked), the tool catalogue, and the
// leveling settings with their history.
import { get, send } from "../api.js";
import { badge, busy, errorText, field, figure, fill, form, h, notice, pageHeader, say, section, select, table, when } from "../ui.js";
import { addForm, input, saveButton, settingsPart } from "../editing.js";

const encode = encodeURIComponent;

export async function render(main, ctx) {
  const tools = toolsPart();
  fill(main, pageHeader("Leveling admin"), memberPart(tools), tools.element);
  const saved = "Saved: in force for what happens from now on.";
  const config = settingsPart({ title: "Leveling settings", path: "/api/leveling/config", formOf: configForm, saved, history: "/api/leveling/config/history" }, ctx);
  main.append(config.element);
  await Promise.all([tools.load(), config.load()]);
}

// ---- one member -------------------------------------------------------------------------------

function memberPart(tools) {
  const status = notice();
  const area = h("div");
  const id = h("input", { name: "discord_id", required: true, inputmode: "numeric", pattern: "[0-9]{17,20}", maxlength: "20", autocomplete: "off" });
  const lookup = form(
    { class: "row", role: "search", "aria-label": "Member by Discord id" },
    [field("Discord id", id, "17 to 20 digits."), h("button", { type: "submit", class: "primary" }, "Look up")],
    async (values) => {
      const discordId = values.discord_id.trim();
      fill(area);
      let profile = null;
      try {
        profile = await get(`/api/leveling/users/${encode(discordId)}`);
        say(status, `Member ${discordId}: level ${profile.level}.`);
      } catch (error) {
        if (error.code !== "profile_not_found") throw error;
        say(status, error);
      }
      showMember(area, discordId, profile, tools.active());
    },
    status,
  );
  return section("Member", lookup, status, area);
}

function profileView(profile) {
  if (!profile) return h("p", { class: "empty" }, "No leveling profile for this Discord id yet.");
  const next = profile.xp_for_next_level;
  const percent = next ? Math.min(100, Math.round((profile.xp_into_level / next) * 100)) : 100;
  const words = next ? `${profile.xp_into_level} of ${next} XP towards level ${profile.level + 1}` : "At the top level";
  const fillBar = h("div");
  fillBar.style.width = `${percent}%`;
  const bar = h("div", { class: "progress", role: "progressbar", "aria-label": "Progress to the next level", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent), "aria-valuetext": words }, fillBar);
  return h(
    "div",
    {},
    h("div", { class: "figures" }, figure("Level", profile.level), figure("XP", profile.xp), figure("Tier", profile.tier), figure("Rank", `#${profile.rank}`), figure("Streak", `${profile.streak} d`)),
    bar,
    h("p", { class: "muted" }, `${words}. Last daily claim: ${profile.last_daily_at ? when(profile.last_daily_at) : "never"}.`),
  );
}

function showMember(area, discordId, profile, activeTools) {
  const figures = h("div", { "aria-live": "polite" });
  const draw = (next) => fill(figures, profileView(next));
  const reload = () => get(`/api/leveling/users/${encode(discordId)}`).then(draw);
  const owned = h("div", { class: "nowrap" });
  const loadTools = () =>
    get(`/api/leveling/tools/user/${encode(discordId)}`).then(
      (answer) => fill(owned, memberToolsTable(answer.tools)),
      (error) => fill(owned, h("p", { class: "notice error", role: "alert" }, errorText(error))),
    );
  draw(profile);
  fill(
    area,
    h("h3", {}, `Member ${discordId}`),
    figures,
    h("div", { class: "grid" }, xpCard(discordId, reload), levelCard(discordId, draw), resetCard(discordId, draw), unlockCard(discordId, activeTools, loadTools)),
    h("h3", {}, "Their tools"),
    owned,
  );
  loadTools();
}

function memberToolsTable(tools) {
  const rows = tools.map((tool) => [tool.name, String(tool.unlock_level), tool.unlocked ? badge("unlocked", "ok") : badge("locked"), tool.unlocked_at ? when(tool.unlocked_at) : "—"]);
  return table("!Their tools", ["Tool", "Unlock level", "State", "Since"], rows, "No tools in the catalogue.");
}

function card(title, ...children) {
  return h("div", { class: "card" }, h("h4", {}, title), children);
}

/** A card with a form; `action(values, form, status)` runs on submit, its words under the form. */
function formCard(title, controls, action) {
  const status = notice();
  return card(title, form({}, controls, (values, element) => action(values, element, status), status), status);
}

function xpCard(discordId, reload) {
  const amount = h("input", { name: "amount", type: "number", required: true, step: "1", min: "-1000000", max: "1000000" });
  const controls = [
    field("XP", amount, "Negative removes XP (never below 0)."),
    field("Reason", h("input", { name: "reason", required: true, maxlength: "200" })),
    h("button", { type: "submit", class: "primary", "aria-label": `Change the XP of ${discordId}` }, "Change XP"),
  ];
  return formCard("Add or remove XP", controls, async (values, element, status) => {
    const xp = Number(values.amount);
    if (!Number.isInteger(xp) || xp === 0) throw new Error("XP must be a whole number other than 0.");
    const answer = await send("POST", "/api/leveling/xp", { discord_id: discordId, amount: xp, reason: values.reason.trim() });
    element.reset();
    const change = answer.xp_change < 0 ? `Removed ${-answer.xp_change} XP` : `Added ${answer.xp_change} XP`;
    say(status, `${change}: ${answer.total_xp} XP, level ${answer.level}${answer.leveled_up ? " (a level up)" : ""}.`);
    await reload();
  });
}

function levelCard(discordId, draw) {
  const controls = [
    field("Level", h("input", { name: "level", type: "number", required: true, step: "1", min: "1", max: "100" }), "XP becomes what the level takes."),
    field("Reason (optional)", h("input", { name: "reason", maxlength: "200" })),
    h("button", { type: "submit", "aria-label": `Set the level of ${discordId}` }, "Set level"),
  ];
  return formCard("Set level", controls, async (values, element, status) => {
    const reason = values.reason.trim();
    const profile = await send("PUT", `/api/leveling/users/${encode(discordId)}/level`, { level: Number(values.level), ...(reason ? { reason } : {}) });
    draw(profile);
    say(status, `Now level ${profile.level} with ${profile.xp} XP.`);
  });
}

/** Reset takes two presses: "Reset XP and streak", then "Confirm reset". */
function resetCard(discordId, draw) {
  const status = notice();
  const reason = h("input", { name: "reason", maxlength: "200" });
  const start = h("button", { type: "button", class: "danger", "aria-label": `Reset the XP and streak of ${discordId}` }, "Reset XP and streak");
  const confirmButton = h("button", { type: "button", class: "danger", "aria-label": `Confirm reset of ${discordId}` }, "Confirm reset");
  const cancel = h("button", { type: "button", class: "plain" }, "Cancel");
  const confirmRow = h("div", { class: "actions", hidden: true }, confirmButton, cancel);
  const ask = (asking) => {
    confirmRow.hidden = !asking;
    start.hidden = asking;
    (asking ? confirmButton : start).focus();
  };
  start.addEventListener("click", () => {
    ask(true);
    say(status, "XP and streak go back to 0. Press “Confirm reset” to do it.");
  });
  cancel.addEventListener("click", () => {
    ask(false);
    say(status, "Not reset.");
  });
  confirmButton.addEventListener("click", () =>
    busy(confirmButton, async () => {
      const text = reason.value.trim();
      const profile = await send("POST", `/api/leveling/users/${encode(discordId)}/reset`, text ? { reason: text } : {});
      draw(profile);
      reason.value = "";
      ask(false);
      say(status, `Reset: ${profile.xp} XP, level ${profile.level}.`);
    }, status),
  );
  return card("Reset", field("Reason (optional)", reason), start, confirmRow, status);
}

function unlockCard(discordId, tools, loadTools) {
  if (tools.length === 0) return card("Unlock a tool", h("p", { class: "empty" }, "No active tool in the catalogue."));
  const options = tools.map((tool) => [tool.id, `${tool.name} (level ${tool.unlock_level})`]);
  const controls = [field("Tool", select("tool_id", options)), h("button", { type: "submit", "aria-label": `Unlock the tool for ${discordId}` }, "Unlock")];
  return formCard("Unlock a tool", controls, async (values, element, status) => {
    const answer = await send("POST", `/api/leveling/tools/unlock/${encode(discordId)}/${encode(values.tool_id)}`);
    const name = tools.find((tool) => tool.id === answer.tool_id)?.name || answer.tool_id;
    say(status, answer.newly_unlocked ? `Unlocked ${name}.` : `${name} was unlocked already.`);
    await loadTools();
  });
}

// ---- the tool catalogue --------------------------------------------------------------------------

function toolsPart() {
  const state = { items: [] };
  const status = notice();
  const holder = h("div", { class: "nowrap" });
  const path = (tool) => `/api/leveling/tools/${encode(tool.id)}`;
  const draw = () => fill(holder, table("!Tools", ["Id", "Name", "Description", "Unlock level", "State", "Change"], state.items.map(cells), "No tools yet."));
  const cells = (tool) => {
    const label = tool.name;
    const controls = {
      name: input(tool.name, `Name of ${label}`, { maxlength: "100" }),
      description: input(tool.description, `Description of ${label}`, { maxlength: "1000", required: false }),
      unlock_level: input(tool.unlock_level, `Unlock level of ${label}`, { type: "number", min: "1", max: "100", step: "1" }),
    };
    const save = saveButton(tool, label, controls, (body) => send("PATCH", path(tool), body));
    const shown = h("span");
    const retire = h("button", { type: "button" });
    const show = () => {
      fill(shown, tool.active ? badge("active", "ok") : badge("retired", "warn"));
      retire.textContent = tool.active ? "Retire" : "Bring back";
      retire.setAttribute("aria-label", `${retire.textContent} ${label}`);
    };
    show();
    retire.addEventListener("click", () =>
      busy(retire, async () => {
        Object.assign(tool, await send("PATCH", path(tool), { active: !tool.active }));
        show();
        say(save.status, tool.active ? `${label} is back in the catalogue.` : `${label} is retired.`);
      }, save.status),
    );
    const remove = h("button", { type: "button", class: "danger", "aria-label": `Remove ${label}` }, "Remove");
    remove.addEventListener("click", () =>
      busy(remove, async () => {
        const answer = await send("DELETE", path(tool));
        if (answer.retired) {
          tool.active = false;
          show();
          return say(save.status, `Members had ${label}, so it is retired rather than deleted.`);
        }
        state.items = state.items.filter((item) => item !== tool);
        draw();
        heading.focus();
        return say(status, `Deleted ${label}.`);
      }, save.status),
    );
    return [tool.id, controls.name, controls.description, controls.unlock_level, shown, h("div", {}, h("div", { class: "actions" }, save.button, retire, remove), save.status)];
  };
  const add = addForm(
    "Add a tool",
    [
      field("Id", h("input", { name: "id", required: true, pattern: "[a-z0-9][a-z0-9_\\-]{0,63}", maxlength: "64", autocomplete: "off" })),
      field("Name", h("input", { name: "name", required: true, maxlength: "100" })),
      field("Description", h("input", { name: "description", maxlength: "1000" })),
      field("Unlock level", h("input", { name: "unlock_level", type: "number", required: true, min: "1", max: "100", step: "1" })),
    ],
    async (values, element, addStatus) => {
      const body = { id: values.id.trim(), name: values.name.trim(), description: values.description.trim(), unlock_level: Number(values.unlock_level) };
      state.items.push(await send("POST", "/api/leveling/tools", body));
      draw();
      element.reset();
      say(addStatus, `Added ${body.name}.`);
    },
  );
  const load = () => get("/api/leveling/tools").then((answer) => ((state.items = answer.tools), draw()), (error) => say(status, error));
  const element = section("Tool catalogue", status, holder, add);
  const heading = element.querySelector("h2");
  heading.tabIndex = -1;
  return { element, load, active: () => state.items.filter((tool) => tool.active) };
}

// ---- the settings ------------------------------------------------------------------------------------

const NUMBERS = [
  ["sources.message.xp", "XP per message", 100000],
  ["sources.message.cooldown_seconds", "Message cooldown (seconds)", 86400],
  ["sources.command.xp", "XP per command", 100000],
  ["sources.command.cooldown_seconds", "Command cooldown (seconds)", 86400],
  ["sources.voice.xp_per_minute", "Voice XP per minute", 100000],
  ["daily.xp", "Daily claim XP", 100000],
  ["daily.streak_bonus", "Streak bonus per day", 100000],
  ["daily.streak_cap_days", "Streak days counted (0: all)", 3650],
];

const at = (object, path) => path.split(".").reduce((value, key) => value[key], object);

function put(object, path, value) {
  const keys = path.split(".");
  const last = keys.pop();
  keys.reduce((inner, key) => (inner[key] ??= {}), object)[last] = value;
}

function rewardsText(rewards) {
  return rewards.map((reward) => `${reward.level}: ${[...reward.add_roles.map((role) => `+${role}`), ...reward.remove_roles.map((role) => `-${role}`)].join(" ")}`).join("\n");
}

function parseRewards(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line, index) => {
    const match = /^(\d+)\s*:\s*(.*)$/.exec(line);
    if (!match) throw new Error(`Role rewards, line ${index + 1}: write “level: +role -role”.`);
    const reward = { level: Number(match[1]), add_roles: [], remove_roles: [] };
    for (const token of match[2].split(/\s+/).filter(Boolean)) {
      const role = /^([+-])([0-9]{17,20})$/.exec(token);
      if (!role) throw new Error(`Role rewards, line ${index + 1}: “${token}” is not +role or -role (a Discord role id).`);
      (role[1] === "+" ? reward.add_roles : reward.remove_roles).push(role[2]);
    }
    return reward;
  });
}

function configForm(config, save, status) {
  const numbers = NUMBERS.map(([path, label, max]) => field(label, h("input", { name: path, type: "number", required: true, min: "0", max: String(max), step: "1", value: String(at(config, path)) })));
  const rewards = h("textarea", { name: "role_rewards", rows: "4", autocomplete: "off" });
  rewards.value = rewardsText(config.role_rewards);
  return form(
    {},
    [
      h("div", { class: "row" }, numbers),
      field("Role rewards", rewards, "One line per level: “10: +role_id -role_id” (+ gives the Discord role, - takes it)."),
      h("button", { type: "submit", class: "primary" }, "Save leveling settings"),
    ],
    async (values) => {
      const body = { role_rewards: parseRewards(values.role_rewards || "") };
      for (const [path] of NUMBERS) put(body, path, Number.parseInt(values[path], 10));
      await save(body);
    },
    status,
  );
}
