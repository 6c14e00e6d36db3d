// Manager console: describe a trade, read it in plain words, sign it with the wallet
// (eth_signTypedData_v4, the EIP-712 type the API derives from the contract), submit it to the keeper,
// and watch it: queued, executed (with its prices) or refused (with the named reason).
import {
  addr, api, chooseVault, config, connect, esc, explain, notify, quoted, wallet,
} from "/app/static/lib.js";

const FINAL = new Set(["executed", "executed_by_other", "rejected", "failed", "expired"]);

export async function render(main, ctx) {
  const [vault] = ctx.params;
  if (!vault) return chooseVault(main, "manage");
  ctx.onWallet(() => { if (ctx.current()) render(main, ctx); });
  const cfg = await config();
  const v = await api(`/app/vaults/${vault}`);
  const d = v.detail;
  const symbols = Object.fromEntries(Object.entries(cfg.tokens).map(([s, t]) => [t.address.toLowerCase(), s]));
  const tradable = [d.asset.address, ...d.config.listedAssets];
  const option = (a) => `<option value="${a}">${esc(symbols[a.toLowerCase()] ?? a)}</option>`;
  const isManager = wallet.account && wallet.account.toLowerCase() === String(d.config.manager).toLowerCase();
  if (!ctx.current()) return;
  main.innerHTML = `
    <h1>Manager console: ${esc(d.name)}</h1>
    <div class="card">
      <p>Manager ${addr(d.config.manager)} · keeper relay ${cfg.keeper_url ? `<span class="addr">${esc(cfg.keeper_url)}</span>` :
        `<span class="error">none (start the API with API_KEEPER_URL)</span>`}</p>
      ${!wallet.account ? `<p><button id="connect-here" type="button">Connect the manager's wallet</button></p>` :
        isManager ? `<p class="ok">Your wallet is this vault's manager.</p>` :
        `<p class="error">Your wallet ${addr(wallet.account)} is not this vault's manager: the keeper will refuse what it signs.</p>`}
    </div>
    <div class="card"><h2>New signal</h2>
      <div class="row">Sell <select id="token-in">${tradable.map(option).join("")}</select>
        for <select id="token-out">${tradable.slice(1).concat([d.asset.address]).map(option).join("")}</select></div>
      <div class="row">Size <input id="size" class="amount" value="10"> %
        of <select id="size-mode"><option value="0">the vault's holdings of the token sold</option>
        <option value="1">the vault's NAV</option></select></div>
      <div class="row">Receive at least <input id="limit" class="amount" value="0"> <span id="limit-unit"></span></div>
      <div class="row">Slippage against the oracle at most <input id="slippage" class="amount" value="1"> %
        · valid for <input id="valid" class="amount" value="60"> minutes</div>
      <div class="row"><button id="describe" type="button">Describe</button></div>
      <div id="draft"></div>
      <p id="sign-status" class="hint" role="status"></p>
    </div>
    <div class="card"><h2>Signals at the keeper</h2><div id="signals"><p class="loading">Loading…</p></div></div>`;
  const $ = (s) => main.querySelector(s);
  $("#connect-here")?.addEventListener("click", () => connect().catch(async (e) => notify(await explain(e), "error")));
  const unit = () => {
    $("#limit-unit").textContent = `${symbols[$("#token-out").value.toLowerCase()]} per ${symbols[$("#token-in").value.toLowerCase()]}`;
  };
  $("#token-in").onchange = unit;
  $("#token-out").onchange = unit;
  unit();
  let draft = null;
  $("#describe").onclick = async () => {
    $("#draft").innerHTML = `<p class="loading">Preparing…</p>`;
    try {
      draft = await api("/app/signals/draft", {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({
          vault: d.address, token_in: $("#token-in").value, token_out: $("#token-out").value,
          size_mode: Number($("#size-mode").value), size_bps: Math.round(Number($("#size").value) * 100),
          limit_price: $("#limit").value.trim(), max_slippage_bps: Math.round(Number($("#slippage").value) * 100),
          valid_for_s: Math.round(Number($("#valid").value) * 60),
        }),
      });
      $("#draft").innerHTML = `<div class="words" id="words">${esc(draft.description)}</div>
        <p class="hint">EIP-712 digest <span class="addr">${draft.digest}</span></p>
        <button id="sign" type="button">Sign with your wallet and submit</button>`;
      $("#sign").onclick = () => signAndSubmit(main, ctx, d, draft);
    } catch (e) {
      $("#draft").innerHTML = `<p class="error">${esc(await explain(e))}</p>`;
    }
  };
  await listSignals(main, ctx, d, cfg);
  ctx.live(d.address, () => listSignals(main, ctx, d, cfg));
  ctx.ready();
}

async function signAndSubmit(main, ctx, d, draft) {
  const status = main.querySelector("#sign-status");
  const cfg = await config();
  try {
    if (!wallet.account) await connect();
    if (wallet.chainId !== cfg.chain_id) throw new Error(`Your wallet is on chain ${wallet.chainId}; switch to ${cfg.chain_id}.`);
    status.textContent = "Sign the trade in your wallet…";
    const signature = await window.ethereum.request({
      method: "eth_signTypedData_v4", params: [wallet.account, JSON.stringify(draft.typed_data)] });
    status.textContent = "Signed; submitting to the keeper…";
    const body = { vault: d.address, chainId: cfg.chain_id, digest: draft.digest, signature, signal: draft.signal };
    const answer = await fetch("/app/keeper/signals", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const accepted = await answer.json();
    if (!answer.ok) throw new Error(`The keeper refused it: ${accepted.detail ?? accepted.error} (${accepted.error})`);
    status.textContent = `The keeper queued it as signal #${accepted.id} (${accepted.state}).`;
    main.querySelector("#sign").disabled = true;
    await listSignals(main, ctx, d, cfg);
    let record = accepted;
    while (!FINAL.has(record.state) && ctx.current()) {
      record = await api(`/app/keeper/signals/${accepted.id}?wait=20`);
      await listSignals(main, ctx, d, cfg);
    }
    status.textContent = `Signal #${accepted.id}: ${record.state}${record.reason ? ` (${record.reason})` : ""}.`;
  } catch (e) {
    status.textContent = `Not submitted: ${await explain(e)}`;
    status.className = "error";
  }
}

async function listSignals(main, ctx, d, cfg) {
  const el = main.querySelector("#signals");
  if (!cfg.keeper_url) { el.innerHTML = `<p class="hint">No keeper relay.</p>`; return; }
  let records;
  try {
    records = (await api(`/app/keeper/signals?vault=${d.address}&limit=20`)).signals;
  } catch (e) {
    el.innerHTML = `<p class="error">${esc(await explain(e))}</p>`;
    return;
  }
  const executedBlocks = records.filter((r) => r.block_number).map((r) => r.block_number);
  const trades = executedBlocks.length ? (await api(`/vaults/${d.address}/trades?kind=signal&limit=1000&from_block=${Math.min(...executedBlocks)}`)).items : [];
  if (!ctx.current()) return;
  const tradeOf = (r) => trades.find((t) => t.digest && r.digest && t.digest.toLowerCase() === r.digest.toLowerCase());
  el.innerHTML = records.length ? `<table id="signal-table"><thead><tr><th>#</th><th>nonce</th><th>state</th><th>reason</th>
      <th>block</th><th class="num">limit</th><th class="num">oracle</th><th class="num">execution</th></tr></thead><tbody>
      ${records.map((r) => {
        const t = tradeOf(r);
        return `<tr data-signal="${r.id}"><td>${r.id}</td><td class="addr">${esc(r.nonce ?? "")}</td>
          <td><span class="state ${esc(r.state)}" data-field="state">${esc(r.state)}</span></td>
          <td>${r.reason ? `${esc(words(r.reason))}${r.detail ? `: <span class="hint">${esc(r.detail)}</span>` : ""}` : ""}</td>
          <td>${r.block_number ?? ""}</td>
          <td class="num">${t ? quoted(t.limit_price, t.token_in, t.token_out, d.asset.address) : ""}</td>
          <td class="num">${t ? quoted(t.oracle_price, t.token_in, t.token_out, d.asset.address) : ""}</td>
          <td class="num" data-field="execution_price" data-raw="${t?.execution_price ?? ""}">${t ? quoted(t.execution_price, t.token_in, t.token_out, d.asset.address) : ""}</td></tr>`;
      }).join("")}</tbody></table>` : `<p class="hint">No signal yet.</p>`;
}

function words(reason) { return reason.replaceAll("_", " "); }
