// Investor: connect a wallet, approve + deposit with a share preview, request a withdrawal, see what is
// pending and claimable (with the date it becomes settleable and the gate), claim, cancel; and the
// sub-account: equity curve, P&L, fees borne, trade tickets, statement.
import { ethers } from "ethers";
import {
  ApiFailure, addr, api, bps, chooseVault, config, connect, date, duration, esc, explain, fig, lineChart, notify,
  parseUnits, quoted, send, tokenContract, units, vaultContract, wallet,
} from "/app/static/lib.js";
import { ppsDecimals } from "/app/static/pages/vaults.js";

export async function render(main, ctx) {
  const [vault] = ctx.params;
  if (!vault) return chooseVault(main, "invest");
  ctx.onWallet(() => { if (ctx.current()) render(main, ctx); });
  const cfg = await config();
  const v = await api(`/app/vaults/${vault}`);
  if (!ctx.current()) return;
  const d = v.detail;
  const asset = d.asset;
  const sd = v.share_decimals;
  const head = `<h1>${esc(d.name)} <span class="hint">${addr(d.address)}</span></h1>
    <p class="hint">Price per share ${fig("vault_pps", d.price_per_share, ppsDecimals(v), 6)} ${esc(asset.symbol)} ·
      NAV ${fig("vault_nav", d.nav, asset.decimals)} ${esc(asset.symbol)} · manager ${addr(d.config.manager)} ·
      fees ${bps(d.config.managementFeeBps)} a year + ${bps(d.config.performanceFeeBps)} of gains over the high-water mark</p>`;
  if (!wallet.account) {
    main.innerHTML = `${head}<div class="card"><p>Connect your wallet to see your sub-account and to invest.</p>
      <button id="connect-here" type="button">Connect wallet</button></div>`;
    main.querySelector("#connect-here").onclick = () => connect().catch(async (e) => notify(await explain(e), "error"));
    ctx.ready();
    return;
  }
  const me = wallet.account;
  const rightChain = wallet.chainId === cfg.chain_id;
  let mam = null;
  try {
    mam = await api(`/vaults/${d.address}/investors/${me}?tickets_limit=1000`);
  } catch (e) {
    if (!(e instanceof ApiFailure) || !/never held shares/.test(e.message)) throw e;
  }
  const [trades, curve] = await Promise.all([
    api(`/vaults/${d.address}/trades?limit=1000`),
    mam ? api(`/app/vaults/${d.address}/investors/${me}/equity`) : Promise.resolve([]),
  ]);
  // What only the chain knows now: the wallet's balance and allowance, and when the request's epoch matures.
  let chain = null;
  if (rightChain) {
    const provider = new ethers.BrowserProvider(window.ethereum, cfg.chain_id);
    const token = await tokenContract(asset.address, provider);
    const vc = await vaultContract(d.address, provider);
    const epoch = mam ? BigInt(mam.redemption.epoch) : 0n;
    const [balance, allowance, shares, maturesAt] = await Promise.all([
      token.balanceOf(me), token.allowance(me, d.address), vc.balanceOf(me),
      epoch > 0n ? vc.epochMaturesAt(epoch) : Promise.resolve(0n)]);
    chain = { balance, allowance, shares, maturesAt };
  }
  if (!ctx.current()) return;
  const byId = new Map(trades.items.map((t) => [t.id, t]));
  const r = mam?.redemption;
  main.innerHTML = `${head}
    ${rightChain ? "" : `<p class="notice error">Your wallet is on chain ${wallet.chainId}: switch it to chain ${cfg.chain_id} to act.</p>`}
    <div class="grid">
      <div class="card" id="account-card"><h2>Your sub-account ${addr(me)}</h2>${mam ? figures(mam, asset, sd) :
        `<p class="hint">No sub-account yet: your first deposit opens one.</p>`}</div>
      <div class="card" id="deposit-card"><h2>Deposit ${esc(asset.symbol)}</h2>
        <p class="hint">In your wallet: ${chain ? fig("wallet_balance", chain.balance.toString(), asset.decimals) : "–"} ${esc(asset.symbol)}</p>
        <div class="row"><input id="deposit-amount" class="amount" placeholder="0.00" inputmode="decimal">
          <button id="deposit" type="button" ${rightChain ? "" : "disabled"}>Approve and deposit</button></div>
        <p id="preview" class="hint">Enter an amount to see the shares you would receive.</p>
        <p id="deposit-status" class="hint" role="status"></p></div>
      <div class="card" id="withdraw-card"><h2>Withdraw</h2>
        <p class="hint">Withdrawals are requested, then settled after the notice period
          (${duration(d.config.noticePeriod)} after the ${duration(d.params.epochLength ?? 86400)} epoch closes).
          <span id="gate-explained">The gate: one settlement pays out at most ${bps(d.config.gateBps)} of NAV. When requests
          ask for more, every request of the epoch is paid the same fraction and the rest is settled in later rounds.</span></p>
        <div class="row"><input id="redeem-shares" class="amount" placeholder="shares" inputmode="decimal">
          <button id="request" type="button" ${rightChain ? "" : "disabled"}>Request withdrawal</button>
          <span class="hint">of ${chain ? fig("wallet_shares", chain.shares.toString(), sd) : "–"} ${esc(d.symbol)} in your wallet</span></div>
        ${r ? redemption(r, asset, sd, chain) : ""}
        <div class="row">
          <button id="claim" type="button" ${rightChain && r && BigInt(r.claimable_shares) > 0n ? "" : "disabled"}>Claim</button>
          <button id="cancel" type="button" class="secondary" ${rightChain && r && BigInt(r.pending_shares) > 0n ? "" : "disabled"}>Cancel the pending request</button>
        </div>
        <p id="withdraw-status" class="hint" role="status"></p></div>
    </div>
    <div class="card"><h2>Equity</h2><p class="hint">Your position's value plus claimable assets, in ${esc(asset.symbol)},
      at each fee accrual, settlement and move of yours (the vault's own views at each block).</p><div id="equity-chart" class="chart"></div></div>
    <div class="card"><h2>Trade tickets</h2><p class="hint">Your slice of every trade since you joined: your share of the pool
      when it ran, and the signal's limit vs the oracle's vs the execution price.</p>${tickets(mam, byId, asset.address)}</div>
    <div class="card no-print"><h2>Statement</h2>
      ${mam ? `<a href="#/statement/${d.address}/${me}">Printable statement</a> ·
      <a id="statement-csv" href="/app/vaults/${d.address}/investors/${me}/statement.csv" download>CSV</a>` : "–"}</div>`;
  if (curve.length) {
    lineChart(main.querySelector("#equity-chart"), [{ title: "equity", points: curve.map((p) => ({
      time: p.timestamp, value: Number(p.equity) / 10 ** asset.decimals })) }]);
  }
  wire(main, ctx, d, asset, sd, chain);
  ctx.live(d.address, (m) => { if (m.type === "event" && !busy) refreshSoon(main, ctx); });
  ctx.ready();
}

let busy = false;
let timer = null;
function refreshSoon(main, ctx) {
  clearTimeout(timer);
  timer = setTimeout(() => { if (ctx.current() && !busy) render(main, ctx); }, 500);
}

function figures(m, asset, sd) {
  const a = asset.decimals;
  return `<dl class="figures">
    <dt>Shares in your wallet</dt><dd>${fig("shares", m.shares, sd)}</dd>
    <dt>Shares pending withdrawal</dt><dd>${fig("pending_shares", m.pending_shares, sd)}</dd>
    <dt>Share of the pool</dt><dd data-field="pool_share" data-raw="${m.pool_share}">${(Number(m.pool_share) * 100).toFixed(4)}%</dd>
    <dt>Equity</dt><dd>${fig("equity", m.equity, a)} ${esc(asset.symbol)}</dd>
    <dt>Net deposits</dt><dd>${fig("net_deposits", m.net_deposits, a)}</dd>
    <dt>Realised P&amp;L</dt><dd>${fig("realised_pnl", m.realised_pnl, a)}</dd>
    <dt>Unrealised P&amp;L</dt><dd>${fig("unrealised_pnl", m.unrealised_pnl, a)}</dd>
    <dt>Total P&amp;L</dt><dd>${fig("total_pnl", m.total_pnl, a)}</dd>
    <dt>Fees borne</dt><dd>${fig("fees_borne", m.fees_borne, a)}</dd>
    <dt>Deposited / claimed</dt><dd>${fig("deposited_assets", m.deposited_assets, a)} / ${fig("claimed_assets", m.claimed_assets, a)}</dd>
    <dt>As of block</dt><dd data-field="block_number">${m.block_number}</dd></dl>`;
}

function redemption(r, asset, sd, chain) {
  const matures = chain && chain.maturesAt > 0n ? Number(chain.maturesAt) : null;
  const pending = BigInt(r.pending_shares) > 0n;
  return `<dl class="figures" id="redemption">
    <dt>State</dt><dd data-field="redemption_state">${esc(r.state)}</dd>
    <dt>Pending</dt><dd>${fig("redemption_pending", r.pending_shares, sd)} shares</dd>
    ${pending && matures ? `<dt>Settleable from</dt><dd data-field="settleable_at" data-raw="${matures}">${date(matures)}</dd>` : ""}
    <dt>Claimable</dt><dd>${fig("claimable_assets", r.claimable_assets, asset.decimals)} ${esc(asset.symbol)}
      (${fig("claimable_shares", r.claimable_shares, sd)} shares)</dd></dl>`;
}

function tickets(mam, byId, base) {
  if (!mam || !mam.tickets.items.length) return `<p class="hint">No trade since you joined.</p>`;
  return `<table id="tickets"><thead><tr><th>#</th><th>date</th><th>trade</th><th class="num">your share</th>
    <th class="num">your slice in</th><th class="num">your slice out</th><th class="num">limit</th>
    <th class="num">oracle</th><th class="num">execution</th></tr></thead><tbody>${mam.tickets.items.map((t) => {
      const trade = byId.get(t.trade_id) ?? {};
      return `<tr data-trade="${t.trade_id}"><td>${t.trade_id}</td><td>${date(t.timestamp)}</td>
        <td>${esc(t.kind)}: ${esc(t.token_in.symbol)} → ${esc(t.token_out.symbol)}${t.strategy ? ` <a
          href="#/strategies/${t.strategy.strategy_id}" data-field="ticket_strategy" data-raw="${t.strategy.strategy_id}"
          title="a follower fill of master signal ${esc(t.strategy.nonce)}">strategy #${t.strategy.strategy_id}</a>` : ""}</td>
        <td class="num">${(Number(t.pool_share) * 100).toFixed(2)}%</td>
        <td class="num">${fig("slice_in", t.amount_in, t.token_in.decimals, 4)} ${esc(t.token_in.symbol)}</td>
        <td class="num">${fig("slice_out", t.amount_out, t.token_out.decimals, 6)} ${esc(t.token_out.symbol)}</td>
        <td class="num">${quoted(trade.limit_price, t.token_in, t.token_out, base)}</td>
        <td class="num">${quoted(trade.oracle_price, t.token_in, t.token_out, base)}</td>
        <td class="num" data-field="ticket_execution_price" data-raw="${t.execution_price ?? ""}">${quoted(t.execution_price, t.token_in, t.token_out, base)}</td></tr>`;
    }).join("")}</tbody></table>`;
}

function wire(main, ctx, d, asset, sd, chain) {
  const me = wallet.account;
  const $ = (s) => main.querySelector(s);
  const act = (statusEl, fn) => async () => {
    busy = true;
    for (const b of main.querySelectorAll("button")) b.disabled = true;
    const status = (t) => { $(statusEl).textContent = t; };
    try {
      await fn(status);
      busy = false;
      await render(main, ctx);
    } catch (e) {
      busy = false;
      const words = await explain(e);
      status(`Failed: ${words}`);
      $(statusEl).className = "error";
      for (const b of main.querySelectorAll("button")) b.disabled = false;
    }
  };
  const amountInput = $("#deposit-amount");
  amountInput.oninput = async () => {
    const preview = $("#preview");
    let assets;
    try { assets = parseUnits(amountInput.value, asset.decimals); } catch { preview.textContent = "Not an amount."; return; }
    if (!chain) return;
    preview.textContent = "Previewing…";
    try {
      const provider = new ethers.BrowserProvider(window.ethereum);
      const shares = await (await vaultContract(d.address, provider)).previewDeposit(assets);
      preview.innerHTML = `You would receive about ${fig("preview_shares", shares.toString(), sd)} ${esc(d.symbol)}
        (previewDeposit at the current NAV; fees due are taken first).`;
    } catch (e) {
      preview.textContent = `No preview: ${await explain(e)}`;
    }
  };
  $("#deposit").onclick = act("#deposit-status", async (status) => {
    const assets = parseUnits(amountInput.value, asset.decimals);
    if (assets <= 0n) throw new Error("Enter an amount to deposit.");
    if (chain.allowance < assets) {
      await send(`Approve ${units(assets.toString(), asset.decimals)} ${asset.symbol}`,
                 async (s) => (await tokenContract(asset.address, s)).approve(d.address, assets), status);
    }
    await send(`Deposit ${units(assets.toString(), asset.decimals)} ${asset.symbol}`,
               async (s) => (await vaultContract(d.address, s)).deposit(assets, me), status);
  });
  $("#request").onclick = act("#withdraw-status", async (status) => {
    const shares = parseUnits($("#redeem-shares").value, sd);
    if (shares <= 0n) throw new Error("Enter the shares to withdraw.");
    await send(`Request a withdrawal of ${units(shares.toString(), sd)} shares`,
               async (s) => (await vaultContract(d.address, s)).requestRedeem(shares, me, me), status);
  });
  $("#claim").onclick = act("#withdraw-status", async (status) => {
    await send("Claim", async (s) => {
      const vc = await vaultContract(d.address, s);
      return vc.redeem(await vc.maxRedeem(me), me, me);
    }, status);
  });
  $("#cancel").onclick = act("#withdraw-status", async (status) => {
    await send("Cancel the request", async (s) => (await vaultContract(d.address, s)).cancelRedeemRequest(me), status);
  });
}

