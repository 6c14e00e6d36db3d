// The router: #/vaults, #/invest/<vault>, #/statement/<vault>/<investor>, #/manage/<vault>, #/audit/<vault>,
// #/strategies[/<id>].
import { api, explain, initWallet, live, notify, wallet, esc } from "/app/static/lib.js";
import * as vaults from "/app/static/pages/vaults.js";
import * as invest from "/app/static/pages/invest.js";
import * as statement from "/app/static/pages/statement.js";
import * as manage from "/app/static/pages/manage.js";
import * as audit from "/app/static/pages/audit.js";
import * as strategies from "/app/static/pages/strategies.js";

const pages = { vaults, invest, statement, manage, audit, strategies };
let cleanups = [];
let generation = 0;

// What a page gets: its parameters, a way to subscribe to a vault's live events (undone on leaving),
// and `current()` to tell whether the page is still the one shown (answers may arrive late).
async function show() {
  for (const c of cleanups) c();
  cleanups = [];
  const mine = ++generation;
  const [name = "vaults", ...params] = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const page = pages[name] ?? vaults;
  for (const a of document.querySelectorAll("#nav a[data-nav]")) a.classList.toggle("active", a.dataset.nav === name);
  const main = document.getElementById("main");
  main.innerHTML = `<p class="loading">Loading…</p>`;
  main.dataset.page = name;
  delete main.dataset.ready;
  notify("");
  // A page re-renders itself (after a transaction, on a live event): it subscribes once per visit,
  // the latest handler winning.
  const liveHandlers = new Map();
  let walletHandler = null;
  const ctx = {
    params,
    current: () => mine === generation,
    live: (vault, handler) => {
      if (!liveHandlers.has(vault)) cleanups.push(live(vault, (m) => liveHandlers.get(vault)(m)));
      liveHandlers.set(vault, handler);
    },
    onWallet: (handler) => {
      if (walletHandler === null) {
        const relay = () => walletHandler();
        wallet.listeners.add(relay);
        cleanups.push(() => wallet.listeners.delete(relay));
      }
      walletHandler = handler;
    },
    ready: () => { if (mine === generation) main.dataset.ready = "1"; },
  };
  try {
    await page.render(main, ctx);
  } catch (e) {
    if (mine === generation) main.innerHTML = `<p class="error">${esc(await explain(e))}</p>`;
  }
}

window.addEventListener("hashchange", show);
initWallet().catch(async (e) => notify(await explain(e), "error")).finally(show);
