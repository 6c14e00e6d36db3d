// Strategies (MAM): every strategy, and one strategy's manager, followers (their rule in words, since
// when) and master trades: the master's prices, each execution's one block price, every follower's
// fill against the master's reference price and every skipped follower with its reason.
import { addr, api, date, esc, quoted, units } from "/app/static/lib.js";

export async function render(main, ctx) {
  const [id] = ctx.params;
  return id ? renderOne(main, ctx, id) : renderList(main, ctx);
}

async function renderList(main, ctx) {
  const page = await api("/strategies?limit=1000");
  if (!ctx.current()) return;
  main.innerHTML = `
    <h1>Strategies</h1>
    <div class="card"><table id="strategies">
      <thead><tr><th class="num">id</th><th>strategy</th><th>manager</th><th class="num">followers</th>
        <th class="num">master trades</th><th>created</th></tr></thead>
      <tbody>${page.items.map((s) => `<tr data-strategy="${s.id}"><td class="num">${s.id}</td>
        <td><a href="#/strategies/${s.id}"><b>${esc(s.name)}</b></a></td><td>${addr(s.manager)}</td>
        <td class="num">${s.followers}</td><td class="num">${s.master_trades}</td>
        <td>${date(s.created_timestamp)} <span class="hint">block ${s.created_block}</span></td></tr>`).join("")}</tbody>
    </table>${page.items.length ? "" : `<p class="hint">No strategy is indexed yet.</p>`}</div>`;
  ctx.ready();
}

async function renderOne(main, ctx, id) {
  const [s, trades, vaults] = await Promise.all([api(`/strategies/${id}`), api(`/strategies/${id}/trades?limit=100`),
                                                 api("/vaults?limit=1000")]);
  if (!ctx.current()) return;
  const assets = Object.fromEntries(vaults.items.map((v) => [v.address, v.asset.address]));
  main.innerHTML = `
    <h1>Strategy #${s.id}: ${esc(s.name)}</h1>
    <div class="card"><h2>Manager</h2>
      <p id="manager">${addr(s.manager)} manages it since ${date(s.manager_since_timestamp)}
        <span class="hint">(block ${s.manager_since_block}; owner ${addr(s.owner)}; indexed to block ${s.block_number})</span></p>
    </div>
    <div class="card"><h2>Followers</h2>${followers(s.current_followers, "current", "No vault follows it now.")}
      ${s.former_followers.length ? `<h2 style="margin-top:12px">Former followers</h2>
        ${followers(s.former_followers, "former", "")}` : ""}</div>
    <div class="card"><h2>Master trades</h2>
      ${trades.items.length ? trades.items.map((t) => masterTrade(t, assets)).join("")
                            : `<p class="hint">No master signal executed yet.</p>`}</div>`;
  for (const f of s.current_followers) ctx.live(f.vault, () => refreshSoon(main, ctx));
  ctx.ready();
}

let timer = null;
function refreshSoon(main, ctx) {
  clearTimeout(timer);
  timer = setTimeout(() => { if (ctx.current()) render(main, ctx); }, 500);
}

function followers(list, kind, empty) {
  if (!list.length) return `<p class="hint">${empty}</p>`;
  return `<table id="${kind}-followers"><thead><tr><th>vault</th><th>rule</th><th>since</th>
    ${kind === "former" ? "<th>until</th>" : ""}</tr></thead><tbody>${list.map((f) => `<tr data-follower="${f.vault}">
    <td><b>${esc(f.vault_name ?? "")}</b> ${addr(f.vault)} <a href="#/invest/${f.vault}">invest</a></td>
    <td class="wrap" data-field="rule" data-kind="${f.rule.kind}">${esc(f.rule.words)}</td>
    <td>${date(f.since_timestamp)} <span class="hint">block ${f.since_block}</span></td>
    ${kind === "former" ? `<td>${date(f.until_timestamp)} <span class="hint">block ${f.until_block}</span></td>` : ""}
    </tr>`).join("")}</tbody></table>`;
}

function masterTrade(t, assets) {
  const tin = t.token_in, tout = t.token_out;
  const q = (value, base) => quoted(value, tin, tout, base ?? tin.address);
  return `<section class="master" data-nonce="${t.nonce}">
    <h2>${esc(tin.symbol)} → ${esc(tout.symbol)} <span class="hint">nonce ${esc(t.nonce)} · digest ${t.digest.slice(0, 10)}…</span></h2>
    <p>Limit ${q(t.limit_price)} · reference <span data-field="ref_price" data-raw="${t.ref_price ?? ""}">${q(t.ref_price)}</span>
      · ${units(t.total_in, tin.decimals)} ${esc(tin.symbol)} sold for ${units(t.total_out, tout.decimals, 4)} ${esc(tout.symbol)}
      in ${t.executions.length} execution${t.executions.length === 1 ? "" : "s"}</p>
    ${t.executions.map((e) => `<div class="execution" data-block="${e.block_number}">
      <p>Block ${e.block_number} <span class="hint">${date(e.timestamp)} · keeper ${addr(e.keeper)} · tx ${e.tx_hash.slice(0, 10)}…</span>:
        one swap at <b data-field="block_price" data-raw="${e.block_price ?? ""}">${q(e.block_price)}</b>
        <span class="hint">(the keeper's floor: ${q(e.floor_price)}; ${e.filled} filled, ${e.skipped} skipped)</span></p>
      ${e.fills.length ? `<table class="fills"><thead><tr><th>follower</th><th class="num">sold</th><th class="num">bought</th>
        <th class="num">price</th><th class="num">vs reference</th><th class="num">vault trade</th></tr></thead><tbody>
        ${e.fills.map((f) => `<tr data-fill="${f.vault}"><td>${esc(f.vault_name ?? "")} ${addr(f.vault)}</td>
          <td class="num" data-field="amount_in" data-raw="${f.amount_in ?? ""}">${units(f.amount_in, tin.decimals)} ${esc(tin.symbol)}</td>
          <td class="num" data-field="amount_out" data-raw="${f.amount_out ?? ""}">${units(f.amount_out, tout.decimals, 4)} ${esc(tout.symbol)}</td>
          <td class="num" data-field="price" data-raw="${f.price ?? ""}">${q(f.price, assets[f.vault])}</td>
          <td class="num ${f.vs_ref_bps && f.vs_ref_bps.startsWith("-") ? "neg" : "pos"}" data-field="vs_ref_bps"
            data-raw="${f.vs_ref_bps ?? ""}">${f.vs_ref_bps === null ? "–" : `${Number(f.vs_ref_bps).toFixed(1)} bps`}</td>
          <td class="num">${f.trade_id === null ? "rounded to no lot" : `#${f.trade_id}`}</td></tr>`).join("")}
        </tbody></table>` : ""}
      ${e.skips.length ? `<table class="skips"><thead><tr><th>left out</th><th>why</th></tr></thead><tbody>
        ${e.skips.map((k) => `<tr data-skip="${k.vault}" data-error="${esc(k.error)}"><td>${esc(k.vault_name ?? "")} ${addr(k.vault)}</td>
          <td class="wrap">${esc(k.reason)}</td></tr>`).join("")}</tbody></table>` : ""}
    </div>`).join("")}
  </section>`;
}
