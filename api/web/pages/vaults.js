// Vaults: discover and compare (manager, fees, notice, gate, NAV, price per share, return, drawdown),
// with a price-per-share or NAV chart of the vaults ticked for comparison.
import { addr, api, bps, duration, esc, fig, lineChart, pct } from "/app/static/lib.js";

export async function render(main, ctx) {
  const vaults = await api("/app/vaults");
  if (!ctx.current()) return;
  const compared = new Set(vaults.slice(0, 2).map((v) => v.detail.address));
  main.innerHTML = `
    <h1>Vaults</h1>
    <div class="card"><table id="vaults">
      <thead><tr><th>compare</th><th>vault</th><th>manager</th><th class="num">fees (mgmt / perf)</th>
        <th class="num">notice</th><th class="num">gate</th><th class="num">NAV</th><th class="num">price per share</th>
        <th class="num">return</th><th class="num">max drawdown</th><th class="num">investors</th></tr></thead>
      <tbody>${vaults.map(row).join("")}</tbody></table>
      ${vaults.length ? "" : `<p class="hint">No vault is indexed yet.</p>`}
    </div>
    <div class="card">
      <div class="row"><h2 style="margin:0">Compare</h2>
        <select id="metric"><option value="price">price per share</option><option value="nav">NAV</option></select>
        <span class="hint">from each fee accrual and settlement the API indexed</span></div>
      <div id="chart" class="chart"></div><p id="chart-empty" class="hint" hidden>No accrual or settlement yet: nothing to chart.</p>
    </div>`;
  const draw = async () => {
    const metric = main.querySelector("#metric").value;
    const chosen = vaults.filter((v) => compared.has(v.detail.address));
    const histories = await Promise.all(chosen.map((v) => api(`/vaults/${v.detail.address}/history?limit=1000`)));
    if (!ctx.current()) return;
    main.querySelector("#chart-empty").hidden = histories.some((h) => h.items.length);
    lineChart(main.querySelector("#chart"), chosen.map((v, i) => ({
      title: v.detail.symbol,
      points: histories[i].items.filter((p) => p.timestamp).map((p) => ({
        time: p.timestamp,
        value: metric === "price" ? Number(p.price_per_share) / 10 ** ppsDecimals(v)
                                : Number(p.nav) / 10 ** v.detail.asset.decimals,
      })),
    })), metric === "price" ? 6 : 2);
  };
  for (const box of main.querySelectorAll("input[data-compare]")) {
    box.checked = compared.has(box.dataset.compare);
    box.onchange = () => { box.checked ? compared.add(box.dataset.compare) : compared.delete(box.dataset.compare); draw(); };
  }
  main.querySelector("#metric").onchange = draw;
  await draw();
  for (const v of vaults) ctx.live(v.detail.address, () => refreshSoon(main, ctx));
  ctx.ready();
}

let timer = null;
function refreshSoon(main, ctx) {
  clearTimeout(timer);
  timer = setTimeout(() => { if (ctx.current()) render(main, ctx); }, 500);
}

function row(v) {
  const d = v.detail;
  const dec = d.asset.decimals;
  const ret = v.return_since_inception;
  return `<tr data-vault="${d.address}">
    <td><input type="checkbox" data-compare="${d.address}" aria-label="compare ${esc(d.name)}"></td>
    <td><b>${esc(d.name)}</b> <span class="hint">${esc(d.symbol)} · ${addr(d.address)}</span><br>
        <a href="#/invest/${d.address}">invest</a> · <a href="#/manage/${d.address}">manage</a> ·
        <a href="#/audit/${d.address}">audit</a></td>
    <td>${addr(d.config.manager)}</td>
    <td class="num">${bps(d.config.managementFeeBps)} / ${bps(d.config.performanceFeeBps)}</td>
    <td class="num">${duration(d.config.noticePeriod)}</td>
    <td class="num">${bps(d.config.gateBps)} of NAV</td>
    <td class="num">${fig("nav", d.nav, dec)} ${esc(d.asset.symbol)}</td>
    <td class="num">${fig("price_per_share", d.price_per_share, ppsDecimals(v), 6)}</td>
    <td class="num ${ret && ret.startsWith("-") ? "neg" : "pos"}" data-field="return" data-raw="${ret ?? ""}">${pct(ret)}</td>
    <td class="num" data-field="max_drawdown" data-raw="${v.max_drawdown ?? ""}">${pct(v.max_drawdown)}</td>
    <td class="num">${d.investors}</td></tr>`;
}

// price_per_share: 1e18 = one whole asset per whole share (the contract's PPS_SCALE accounts for decimals).
export function ppsDecimals() { return 18; }
