// Shared by every page: the API client, the app's configuration, units, the wallet, errors, charts.
import { ethers } from "ethers";
import { createChart, LineSeries } from "lightweight-charts";

// ------------------------------------------------------------------ the API
export class ApiFailure extends Error {}

export async function api(path, options = {}) {
  const answer = await fetch(path, options);
  const text = await answer.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  if (!answer.ok) {
    const detail = body && body.detail !== undefined ? body.detail : body;
    const words = typeof detail === "string" ? detail : JSON.stringify(detail);
    throw new ApiFailure(`${path}: ${words}`);
  }
  return body;
}

let configPromise = null;
export function config() {
  configPromise ??= api("/app/config").then((c) => ({
    ...c,
    errors: new ethers.Interface(c.abi.errors),
  }));
  return configPromise;
}

// ------------------------------------------------------------------ units and labels
// Amounts arrive as integers in the token's smallest unit (decimal strings); shown rounded half-up.
export function units(raw, decimals, places = 2) {
  if (raw === null || raw === undefined || raw === "") return "–";
  let v = BigInt(raw);
  const negative = v < 0n;
  if (negative) v = -v;
  const shift = BigInt(decimals) - BigInt(places);
  if (shift > 0n) {
    const unit = 10n ** shift;
    v = (v + unit / 2n) / unit;
  } else if (shift < 0n) {
    v = v * 10n ** -shift;
  }
  const text = v.toString().padStart(places + 1, "0");
  const whole = text.slice(0, text.length - places).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const frac = places ? "." + text.slice(text.length - places) : "";
  return (negative ? "-" : "") + whole + frac;
}

export function parseUnits(text, decimals) {
  return ethers.parseUnits(text.trim().replaceAll(",", ""), decimals);
}

export function pct(fraction, places = 2) {
  if (fraction === null || fraction === undefined) return "–";
  return (Number(fraction) * 100).toFixed(places) + "%";
}

export function bps(value) { return (Number(value) / 100).toFixed(2) + "%"; }

export function price(decimalText) {
  if (decimalText === null || decimalText === undefined) return "–";
  const n = Number(decimalText);
  return n >= 1000 ? n.toLocaleString("en-US", { maximumFractionDigits: 2 }) : n.toPrecision(6);
}

// A trade's prices are tokenOut per tokenIn; people read a price as base asset per other asset.
export function quoted(decimalText, tokenIn, tokenOut, base) {
  if (decimalText === null || decimalText === undefined) return "–";
  const buying = tokenIn.address.toLowerCase() === base.toLowerCase();
  const value = buying && Number(decimalText) > 0 ? String(1 / Number(decimalText)) : decimalText;
  const [q, a] = buying ? [tokenIn, tokenOut] : [tokenOut, tokenIn];
  return `${price(value)} <span class="hint">${esc(q.symbol)}/${esc(a.symbol)}</span>`;
}

export function short(address) {
  return address ? `${address.slice(0, 6)}…${address.slice(-4)}` : "–";
}

export function addr(address, labels = {}) {
  if (!address) return "–";
  const name = labels[address.toLowerCase()];
  return `<span class="addr" title="${address}">${name ? `${esc(name)} ` : ""}${short(address)}</span>`;
}

export function date(seconds) {
  if (!seconds) return "–";
  return new Date(Number(seconds) * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function duration(seconds) {
  const s = Number(seconds);
  if (s % 86400 === 0) return `${s / 86400} day${s === 86400 ? "" : "s"}`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  return `${s} s`;
}

export function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// A figure: the human text, with the exact integer in data-raw (what tests and copy-paste can trust).
export function fig(field, raw, decimals, places = 2) {
  const cls = raw !== null && raw !== undefined && String(raw).startsWith("-") ? "neg" : "";
  return `<span data-field="${field}" data-raw="${raw ?? ""}" class="${cls}">${units(raw, decimals, places)}</span>`;
}

// ------------------------------------------------------------------ errors in words
// A revert names a custom error (CohortNoticeNotPassed, ERC20InsufficientBalance, ...): say it in words.
export function errorWords(name) {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2");
  const [first, ...rest] = words.split(" ");
  return `${first}: ${rest.join(" ").toLowerCase()}`;
}

function revertData(err) {
  for (const candidate of [err?.data, err?.error?.data, err?.info?.error?.data, err?.info?.error?.data?.data,
                           err?.error?.data?.data]) {
    if (typeof candidate === "string" && candidate.startsWith("0x") && candidate.length >= 10) return candidate;
  }
  const match = /0x[0-9a-fA-F]{8,}/.exec(err?.message ?? "");
  return match ? match[0] : null;
}

export async function explain(err) {
  const data = revertData(err);
  if (data) {
    const { errors } = await config();
    try {
      const parsed = errors.parseError(data);
      if (parsed) {
        const args = parsed.args.map((a) => a.toString()).join(", ");
        return `${errorWords(parsed.name)} (${parsed.name}${args ? `: ${args}` : ""})`;
      }
    } catch { /* not one of ours: fall through */ }
  }
  if (err?.code === "ACTION_REJECTED" || err?.code === 4001) return "You rejected the request in your wallet.";
  return err?.shortMessage || err?.message || String(err);
}

export function notify(message, kind = "info") {
  const el = document.getElementById("notice");
  el.textContent = message;
  el.className = `notice ${kind === "error" ? "error" : ""}`;
  el.hidden = !message;
}

// ------------------------------------------------------------------ the wallet (EIP-1193)
export const wallet = { account: null, chainId: null, listeners: new Set() };

function renderWallet(cfg) {
  const chain = document.getElementById("chain");
  const account = document.getElementById("account");
  const button = document.getElementById("connect");
  if (!window.ethereum) {
    button.disabled = true;
    button.textContent = "No wallet found";
    return;
  }
  button.hidden = Boolean(wallet.account);
  account.innerHTML = wallet.account ? addr(wallet.account) : "";
  account.dataset.address = wallet.account ?? "";
  if (wallet.chainId === null) { chain.textContent = ""; return; }
  const right = wallet.chainId === cfg.chain_id;
  chain.textContent = right ? `chain ${wallet.chainId}` : `wrong network: chain ${wallet.chainId}, Cohort is on ${cfg.chain_id}`;
  chain.className = right ? "chain" : "chain wrong";
  document.getElementById("switch-chain").hidden = right;
}

// Ask the wallet to move to Cohort's chain (EIP-3326), then read where it is.
async function switchChain(cfg) {
  await window.ethereum.request({ method: "wallet_switchEthereumChain",
                                  params: [{ chainId: "0x" + cfg.chain_id.toString(16) }] });
  wallet.chainId = Number(await window.ethereum.request({ method: "eth_chainId" }));
  changed(cfg);
}

export async function initWallet() {
  const cfg = await config();
  renderWallet(cfg);
  if (!window.ethereum) return;
  document.getElementById("connect").onclick = () => connect().catch(async (e) => notify(await explain(e), "error"));
  document.getElementById("switch-chain").onclick = () => switchChain(cfg).catch(async (e) => notify(await explain(e), "error"));
  window.ethereum.on?.("accountsChanged", (accounts) => { wallet.account = accounts[0] ? ethers.getAddress(accounts[0]) : null; changed(cfg); });
  window.ethereum.on?.("chainChanged", (id) => { wallet.chainId = Number(id); changed(cfg); });
  const accounts = await window.ethereum.request({ method: "eth_accounts" });
  if (accounts.length) {
    wallet.account = ethers.getAddress(accounts[0]);
    wallet.chainId = Number(await window.ethereum.request({ method: "eth_chainId" }));
  }
  renderWallet(cfg);
}

function changed(cfg) {
  renderWallet(cfg);
  for (const f of [...wallet.listeners]) f();
}

export async function connect() {
  const cfg = await config();
  const accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
  wallet.account = ethers.getAddress(accounts[0]);
  wallet.chainId = Number(await window.ethereum.request({ method: "eth_chainId" }));
  changed(cfg);
}

// The signer, once the wallet is connected to Cohort's chain; otherwise an Error saying what is wrong.
export async function signer() {
  const cfg = await config();
  if (!window.ethereum) throw new Error("No wallet: install MetaMask or another EIP-1193 wallet.");
  if (!wallet.account) await connect();
  if (wallet.chainId !== cfg.chain_id) {
    throw new Error(`Your wallet is on chain ${wallet.chainId}; switch it to chain ${cfg.chain_id} (Cohort's).`);
  }
  const provider = new ethers.BrowserProvider(window.ethereum, cfg.chain_id);
  return provider.getSigner(wallet.account);
}

export async function vaultContract(address, runner) {
  const cfg = await config();
  return new ethers.Contract(address, cfg.abi.vault, runner);
}

export async function tokenContract(address, runner) {
  const cfg = await config();
  return new ethers.Contract(address, cfg.abi.erc20, runner);
}

// Wait until the API has indexed `block`, so the figures shown include the transaction.
export async function indexed(block) {
  for (;;) {
    const health = await api("/health");
    if (health.indexed_block >= block) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

// Send a transaction built by `make(signer)`, showing each step; the receipt, or a thrown Error in words.
export async function send(label, make, status) {
  status(`${label}: confirm in your wallet…`);
  const s = await signer();
  const tx = await make(s);
  status(`${label}: sent (${short(tx.hash)}), waiting for the block…`);
  const receipt = await tx.wait();
  status(`${label}: mined in block ${receipt.blockNumber}; waiting for the API to index it…`);
  await indexed(receipt.blockNumber);
  status(`${label}: done (block ${receipt.blockNumber}).`);
  return receipt;
}

// ------------------------------------------------------------------ charts
export function lineChart(element, series, precision = 2) {
  element.innerHTML = "";
  const chart = createChart(element, { autoSize: true, layout: { attributionLogo: false },
                                       timeScale: { timeVisible: true } });
  const colours = ["#2c5fd1", "#d1632c", "#1a7f37", "#8a2cd1", "#b42318"];
  series.forEach((s, i) => {
    const line = chart.addSeries(LineSeries, { color: colours[i % colours.length], title: s.title, lineWidth: 2,
                                               priceFormat: { type: "price", precision, minMove: 10 ** -precision } });
    const byTime = new Map();
    for (const p of s.points) byTime.set(Number(p.time), p.value);  // one value per second: the last
    line.setData([...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value })));
  });
  chart.timeScale().fitContent();
  return chart;
}

// ------------------------------------------------------------------ live updates (the API's WebSocket)
const sockets = new Map();

export function live(vault, onEvent) {
  let entry = sockets.get(vault);
  if (!entry) {
    entry = { handlers: new Set(), socket: null };
    sockets.set(vault, entry);
    const open = () => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${location.host}/vaults/${vault}/stream`);
      entry.socket = socket;
      socket.onopen = () => setLive(true);
      socket.onmessage = (m) => {
        const message = JSON.parse(m.data);
        if (message.type === "event" || message.type === "rollback") for (const h of entry.handlers) h(message);
      };
      socket.onclose = () => { setLive(false); setTimeout(open, 2000); };
    };
    open();
  }
  entry.handlers.add(onEvent);
  return () => entry.handlers.delete(onEvent);
}

function setLive(on) {
  const el = document.getElementById("live");
  el.textContent = on ? "● live" : "offline";
  el.className = on ? "live on" : "live";
}

// A vault chooser for the pages that need one.
export async function chooseVault(main, page) {
  const list = await api("/vaults?limit=1000");
  main.innerHTML = `<h1>Choose a vault</h1><div class="card"><ul>${list.items.map((v) =>
    `<li><a href="#/${page}/${v.address}">${esc(v.name)}</a> <span class="hint">${v.address}</span></li>`).join("")
  }</ul></div>`;
}
