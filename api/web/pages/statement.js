// A printable statement of one investor in one vault: every deposit, request, cancellation, claim and
// transfer, with dates and amounts in human units (the CSV has the same rows).
import { addr, api, esc, fig } from "/app/static/lib.js";

export async function render(main, ctx) {
  const [vault, investor] = ctx.params;
  const [rows, mam] = await Promise.all([
    api(`/app/vaults/${vault}/investors/${investor}/statement`),
    api(`/vaults/${vault}/investors/${investor}?tickets_limit=0`),
  ]);
  if (!ctx.current()) return;
  const a = mam.asset;
  main.innerHTML = `
    <h1>Statement</h1>
    <div class="card">
      <p>Investor ${addr(investor)} in vault ${addr(vault)} · as of block ${mam.block_number}</p>
      <p>Equity ${fig("equity", mam.equity, a.decimals)} ${esc(a.symbol)} · net deposits ${fig("net_deposits", mam.net_deposits, a.decimals)}
        · total P&amp;L ${fig("total_pnl", mam.total_pnl, a.decimals)} · fees borne ${fig("fees_borne", mam.fees_borne, a.decimals)}</p>
      <table id="statement"><thead><tr><th>date</th><th class="num">block</th><th>event</th><th class="num">assets</th>
        <th class="num">shares</th><th>transaction</th></tr></thead>
        <tbody>${rows.map((r) => `<tr><td>${esc(r.date)}</td><td class="num">${r.block}</td><td>${esc(r.event)}</td>
          <td class="num">${esc(r.assets)} ${esc(r.asset)}</td><td class="num">${esc(r.shares)}</td>
          <td class="addr" title="${r.tx}">${r.tx.slice(0, 10)}…</td></tr>`).join("")}</tbody></table>
      <div class="row no-print"><button id="print" type="button">Print</button>
        <a href="/app/vaults/${vault}/investors/${investor}/statement.csv" download>Download CSV</a>
        <a href="#/invest/${vault}">Back</a></div>
    </div>`;
  main.querySelector("#print").onclick = () => window.print();
  ctx.ready();
}
