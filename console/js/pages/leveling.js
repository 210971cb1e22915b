// Leveling: the member's level, tier and progress, rank, the daily bonus with its streak, the
// leaderboard, the tools (locked and unlocked) and the XP history.
import { ApiError, get, send } from "../api.js";
import * as live from "../live.js";
import { badge, busy, figure, fill, h, notice, pageHeader, say, section, table, when } from "../ui.js";

export async function render(main, ctx) {
  const board = h("div");
  let offset = 0;
  const pageSize = 20;

  async function showBoard() {
    const page = await get("/api/leveling/leaderboard", { limit: pageSize, offset });
    const rows = page.entries.map((entry) => [
      `#${entry.rank}`,
      entry.discord_id === ctx.me.discord_id ? h("strong", {}, `${entry.discord_id} (you)`) : entry.discord_id,
      String(entry.level),
      entry.tier,
      String(entry.xp),
    ]);
    const previous = h("button", { disabled: offset === 0 }, "Previous");
    const next = h("button", { disabled: offset + pageSize >= page.total }, "Next");
    previous.addEventListener("click", () => { offset = Math.max(0, offset - pageSize); showBoard(); });
    next.addEventListener("click", () => { offset += pageSize; showBoard(); });
    fill(board, table("!Leaderboard", ["Rank", "Member", "Level", "Tier", "XP"], rows, "No members yet."), h("div", { class: "row" }, previous, next, h("span", { class: "muted" }, `${page.total} members`)));
  }

  let profile = null;
  if (ctx.me.discord_id) {
    try {
      profile = await get("/api/leveling/me");
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== "discord_not_linked") throw error;
    }
  }
  if (!profile) {
    fill(main, pageHeader("Leveling"), h("p", { class: "notice" }, "Levels come from activity on the community's Discord. Log in with Discord once to link your account."), section("Leaderboard", board));
    await showBoard();
    return undefined;
  }

  const mine = h("div");
  const tools = h("div");
  const history = h("div");

  function showProfile() {
    const progress = profile.xp_for_next_level ? Math.min(100, Math.round((profile.xp_into_level / profile.xp_for_next_level) * 100)) : 100;
    fill(
      mine,
      h(
        "div",
        { class: "figures" },
        figure("Level", profile.level),
        figure("Tier", profile.tier),
        figure("Rank", `#${profile.rank}`),
        figure("XP", profile.xp),
        figure("Daily streak", profile.streak),
      ),
      h("p", {}, profile.xp_for_next_level ? `${profile.xp_into_level} of ${profile.xp_for_next_level} XP to level ${profile.level + 1}` : "Top level reached."),
      h("div", { class: "progress", role: "progressbar", "aria-label": "Progress to the next level", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(progress) }, h("div", { style: `width:${progress}%` })),
    );
  }

  async function refresh() {
    const [fresh, catalogue, changes] = await Promise.all([
      get("/api/leveling/me"),
      get(`/api/leveling/tools/user/${encodeURIComponent(profile.discord_id)}`),
      get(`/api/leveling/xp-history/${encodeURIComponent(profile.discord_id)}`, { limit: 20 }),
    ]);
    profile = fresh;
    showProfile();
    fill(
      tools,
      table(
        "!Tools",
        ["Tool", "What it is", "Unlocks at", ""],
        catalogue.tools.map((tool) => [tool.name, tool.description, `level ${tool.unlock_level}`, tool.unlocked ? badge("unlocked", "ok") : badge("locked")]),
        "No tools in the catalogue.",
      ),
    );
    fill(history, table("!XP history", ["When", "Change", "Source", "Total"], changes.items.map((entry) => [when(entry.occurred_at), entry.amount > 0 ? `+${entry.amount}` : String(entry.amount), entry.reason || entry.source, String(entry.total_after)]), "No XP yet."));
  }

  const claimStatus = notice();
  const claim = h("button", { class: "primary" }, "Claim daily bonus");
  claim.addEventListener("click", () =>
    busy(claim, async () => {
      const result = await send("POST", "/api/leveling/daily");
      say(claimStatus, `+${result.xp_awarded} XP, streak ${result.streak}${result.leveled_up ? `, level ${result.level}!` : ""}. Next claim ${when(result.next_claim_at)}.`);
      await Promise.all([refresh(), showBoard()]);
    }, claimStatus),
  );

  fill(
    main,
    pageHeader("Leveling"),
    section("My level", mine, h("div", { class: "row" }, claim), claimStatus),
    h("div", { class: "grid" }, section("Leaderboard", board), section("Tools", tools)),
    section("XP history", history),
  );
  showProfile();
  await Promise.all([refresh(), showBoard()]);
  const offs = ["level_up", "tool_unlocked"].map((type) => live.on(type, () => refresh().catch(() => {})));
  return () => offs.forEach((off) => off());
}
