// Auditor: the raw event log with filters (event name, block range), its CSV export, and the
// reconciliation of the books rebuilt from events alone with the chain.
import { addr, api, chooseVault, esc } from "/app/static/lib.js";

const PAGE = 50;

export async function render(main, ctx) {
  const [vault] = ctx.params;
  if (!vault) return chooseVault(main, "audit");
  const detail = await api(`/vaults/${vault}`);
  if (!ctx.current()) return;
  main.innerHTML = `
    <h1>Audit: ${esc(detail.name)} <span class="hint">${addr(detail.address)}</span></h1>
    <div class="card"><h2>Reconciliation</h2><div id="recon"><p class="loading">Rebuilding the books from events…</p></div></div>
    <div class="card"><h2>Event log</h2>
      <form class="row" id="filters">
        <label>Event <input id="f-name" placeholder="any (e.g. Deposit)" size="18"></label>
        <label>From block <input id="f-from" class="amount" inputmode="numeric"></label>
        <label>To block <input id="f-to" class="amount" inputmode="numeric"></label>
        <button type="submit">Filter</button>
        <a id="csv" href="#" download>Export CSV</a>
      </form>
      <div id="events"><p class="loading">Loading…</p></div>
      <div class="row"><button id="prev" type="button" class="secondary">Newer</button>
        <button id="next" type="button" class="secondary">Older</button><span id="page" class="hint"></span></div>
    </div>`;
  const $ = (s) => main.querySelector(s);
  let offset = null;  // newest page first
  const query = () => {
    const q = new URLSearchParams();
    if ($("#f-name").value.trim()) q.set("name", $("#f-name").value.trim());
    if ($("#f-from").value.trim()) q.set("from_block", $("#f-from").value.trim());
    if ($("#f-to").value.trim()) q.set("to_block", $("#f-to").value.trim());
    return q;
  };
  const load = async () => {
    const q = query();
    $("#csv").href = `/vaults/${vault}/events.csv?${q}`;
    const el = $("#events");
    el.innerHTML = `<p class="loading">Loading…</p>`;
    try {
      if (offset === null) {
        const probe = await api(`/vaults/${vault}/events?${q}&limit=1`);
        offset = Math.max(0, probe.total - PAGE);
      }
      const page = await api(`/vaults/${vault}/events?${q}&limit=${PAGE}&offset=${offset}`);
      if (!ctx.current()) return;
      $("#page").textContent = page.total ? `events ${offset + 1}–${offset + page.items.length} of ${page.total}` : "";
      $("#page").dataset.total = page.total;
      el.innerHTML = page.items.length ? `<table id="event-table"><thead><tr><th class="num">block</th><th>time</th>
        <th>event</th><th>arguments</th><th>transaction</th></tr></thead><tbody>${page.items.slice().reverse().map((e) =>
          `<tr data-event="${esc(e.name)}"><td class="num">${e.block_number}</td><td>${e.timestamp ? new Date(e.timestamp * 1000).toISOString().slice(0, 19).replace("T", " ") : ""}</td>
          <td>${esc(e.name)}</td><td class="hint">${Object.entries(e.args).map(([k, v]) =>
            `${esc(k)}=${typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v) ? addr(v) : esc(JSON.stringify(v))}`).join(" ")}</td>
          <td class="addr" title="${e.tx_hash}">${e.tx_hash.slice(0, 10)}…</td></tr>`).join("")}</tbody></table>`
        : `<p class="hint">No event matches.</p>`;
      $("#prev").disabled = offset + PAGE >= page.total;
      $("#next").disabled = offset === 0;
    } catch (e) {
      el.innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  };
  $("#filters").onsubmit = (ev) => { ev.preventDefault(); offset = null; load(); };
  $("#prev").onclick = () => { offset += PAGE; load(); };
  $("#next").onclick = () => { offset = Math.max(0, offset - PAGE); load(); };
  const recon = async () => {
    const r = await api(`/vaults/${vault}/reconciliation`);
    if (!ctx.current()) return;
    $("#recon").innerHTML = `<p><span id="recon-ok" class="${r.ok ? "ok" : "bad"}" data-ok="${r.ok}">${r.ok ?
      "The books rebuilt from events match the chain." : `${r.differences.length} difference(s) between the events and the chain.`}</span>
      <span class="hint">${r.events_replayed} events replayed · ${r.checks} quantities compared · ${r.accounts_checked} accounts · block ${r.block_number}</span></p>
      <table id="recon-table"><thead><tr><th>item</th><th>key</th><th class="num">from events</th><th class="num">from the chain</th><th class="num">difference</th></tr></thead>
      <tbody>${[...r.differences, ...r.compared.filter((c) => !r.differences.includes(c))].map((c) =>
        `<tr><td>${esc(c.item)}</td><td>${/^0x[0-9a-fA-F]{40}$/.test(c.key) ? addr(c.key) : esc(c.key)}</td>
        <td class="num clip" title="${esc(c.from_events)}">${esc(c.from_events)}</td>
        <td class="num clip" title="${esc(c.from_chain)}">${esc(c.from_chain)}</td>
        <td class="num ${c.delta && c.delta !== "0" ? "bad" : ""}">${esc(c.delta)}</td></tr>`).join("")}</tbody></table>`;
  };
  await Promise.all([load(), recon()]);
  ctx.live(vault, () => { if (offset !== null && ctx.current()) { offset = null; load(); recon(); } });
  ctx.ready();
}
