/**
 * The live page served at /app (see serve.ts): ticker, trades, order book, the user's orders and
 * the connection state, all through the typed client. Options come from the page URL:
 *   ?token=<jwt>      required (the dev quick start prints one)
 *   &format=fb|json   wire format, default fb
 *   &pair=btc_usdt    initial pair
 */
import { GatewayClient, isKind, type BookSubscription, type ConnectionState, type DataFrame, type DepthLevel, type Format, type OrderData, type Subscription } from "../ts/index.ts";

const PAIRS = ["btc_usdt", "eth_usdt", "sol_usdt", "bnb_usdt"];
const BOOK_LEVELS = 12;
const MAX_TRADES = 14;
const MAX_ORDERS = 12;
const MAX_EVENTS = 14;

const params = new URLSearchParams(location.search);
const token = params.get("token") ?? undefined;
const format: Format = params.get("format") === "json" ? "json" : "fb";
let pair = PAIRS.includes(params.get("pair") ?? "") ? params.get("pair")! : PAIRS[0]!;
const user = token ? jwtSubject(token) : undefined;

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el;
}

function text(id: string, value: string): void {
  const el = $(id);
  if (el.textContent !== value) el.textContent = value;
}

function td(value: string, cls?: string): HTMLTableCellElement {
  const c = document.createElement("td");
  c.textContent = value;
  if (cls) c.className = cls;
  return c;
}

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

/** `sub` of a JWT, without verifying it (the gateway does): names the user's order stream. */
function jwtSubject(jwt: string): string | undefined {
  try {
    const part = jwt.split(".")[1] ?? "";
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === "string" ? sub : undefined;
  } catch {
    return undefined;
  }
}

function notice(msg: string | undefined): void {
  const n = $("notice");
  n.hidden = !msg;
  n.textContent = msg ?? "";
}

function logEvent(msg: string): void {
  const li = document.createElement("li");
  li.textContent = `${clock(Date.now())} ${msg}`;
  const list = $("events");
  list.prepend(li);
  while (list.children.length > MAX_EVENTS) list.lastElementChild!.remove();
}

// ---- the client ---------------------------------------------------------------------------------

const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
const client = new GatewayClient({ url: wsUrl, format, token });
/** For debugging from the console (and the browser test). */
(globalThis as { cexApp?: unknown }).cexApp = { client, get pair() { return pair; } };

text("stat-format", format === "fb" ? "FlatBuffers (binary)" : "JSON");
text("orders-user", user ? `orders.${user}` : "");

function showState(state: ConnectionState, detail = ""): void {
  const badge = $("state");
  badge.dataset.state = state;
  badge.textContent = state;
  text("conn-detail", detail);
}

client.on("state", (state, info) => {
  const detail =
    info.delayMs !== undefined ? `attempt ${info.attempt}, retry in ${(info.delayMs / 1000).toFixed(1)} s` : info.code !== undefined ? `close ${info.code}` : "";
  showState(state, detail);
  logEvent(`${state}${info.code !== undefined ? ` (close ${info.code}${info.reason ? ` ${info.reason}` : ""})` : ""}`);
  if (state === "closed" && info.code !== undefined && info.code !== 1000) notice(`Disconnected for good (close ${info.code} ${info.reason ?? ""}). Reload to reconnect.`);
});
client.on("resumed", (r) => logEvent(`resumed ${r.stream} after #${r.from}${r.replayed ? ` (+${r.replayed})` : ""}`));
client.on("gap", (g) => logEvent(`gap in ${g.stream} after #${g.last}`));
client.on("error", (e) => logEvent(`error: ${e.message}`));
client.on("resumeUnavailable", (info) => {
  logEvent(`resume unavailable for ${info.stream}: ${info.reason}`);
  // State built from the stream is stale: rebuild it from a snapshot.
  if (info.stream.startsWith("ticker.")) {
    client.snapshot(info.stream as `ticker.${string}`, { adopt: true }).then((s) => showTicker(s.data, s.seq), () => {});
  }
  if (info.stream.startsWith("orders.")) orders.clear();
});

// ---- ticker and trades ------------------------------------------------------------------------

function showTicker(t: { price: string; change: string; high: string; low: string; volume: string }, seq: number): void {
  const price = $("ticker-price");
  price.textContent = t.price;
  price.classList.remove("flash");
  void price.offsetWidth;
  price.classList.add("flash");
  const ch = $("ticker-change");
  ch.textContent = `${t.change.startsWith("-") ? "" : "+"}${t.change}%`;
  ch.className = t.change.startsWith("-") ? "down" : "up";
  text("ticker-high", t.high);
  text("ticker-low", t.low);
  text("ticker-volume", t.volume);
  text("ticker-seq", `#${seq}`);
}

function addTrade(f: DataFrame<{ price: string; qty: string; side: string; timestamp: number }>): void {
  const tr = document.createElement("tr");
  tr.append(td(clock(f.data.timestamp)), td(f.data.side.toUpperCase(), f.data.side), td(f.data.price, `r ${f.data.side}`), td(f.data.qty, "r"));
  const body = $("trades").querySelector("tbody")!;
  body.prepend(tr);
  while (body.children.length > MAX_TRADES) body.lastElementChild!.remove();
}

// ---- order book -------------------------------------------------------------------------------

function levelRows(levels: DepthLevel[], side: "bid" | "ask", max: number): HTMLTableRowElement[] {
  return levels.slice(0, BOOK_LEVELS).map(([price, qty]) => {
    const tr = document.createElement("tr");
    const pct = max > 0 ? Math.min(100, (Number(qty) / max) * 100) : 0;
    const color = side === "bid" ? "rgba(46,189,133,.14)" : "rgba(246,70,93,.14)";
    tr.style.backgroundImage = `linear-gradient(to left, ${color} ${pct}%, transparent ${pct}%)`;
    tr.append(td(price, "r"), td(qty, "r"));
    return tr;
  });
}

/** Draws the top of the client-kept book (GatewayClient.book: snapshot + checksummed diffs). */
function showBook(bids: DepthLevel[], asks: DepthLevel[], seq: number, lastUpdateId: number): void {
  const top = [...bids.slice(0, BOOK_LEVELS), ...asks.slice(0, BOOK_LEVELS)];
  const max = Math.max(0, ...top.map(([, q]) => Number(q)));
  $("asks").replaceChildren(...levelRows(asks, "ask", max).reverse());
  $("bids").replaceChildren(...levelRows(bids, "bid", max));
  const bestBid = bids[0]?.[0];
  const bestAsk = asks[0]?.[0];
  text("spread", bestBid && bestAsk ? `spread ${(Number(bestAsk) - Number(bestBid)).toPrecision(4)}` : "—");
  text("book-info", `#${seq} · update ${lastUpdateId} · checksum ok`);
}

// ---- orders -----------------------------------------------------------------------------------

const orders = new Map<string, OrderData>();

function showOrders(): void {
  const rows = [...orders.values()]
    .sort((a, b) => b.timestamp - a.timestamp)
    .slice(0, MAX_ORDERS)
    .map((o) => {
      const tr = document.createElement("tr");
      tr.dataset.orderId = String(o.orderId);
      tr.append(
        td(String(o.orderId)),
        td(o.pair),
        td(o.side.toUpperCase(), o.side),
        td(o.type),
        td(o.status, o.status === "filled" ? "buy" : o.status === "canceled" ? "dim" : ""),
        td(o.price, "r"),
        td(`${o.filledQty} / ${o.qty}`, "r"),
        td(clock(o.timestamp)),
      );
      return tr;
    });
  $("orders").querySelector("tbody")!.replaceChildren(...rows);
  $("orders-empty").hidden = rows.length > 0;
}

// ---- subscriptions ----------------------------------------------------------------------------

let latencies: number[] = [];
client.on("data", (f, meta) => {
  const ref = meta.gatewayTs ?? (f.data as { timestamp?: number } | null)?.timestamp;
  if (typeof ref === "number" && ref > 0) latencies.push(meta.receivedAt - ref);
});

let pairSub: Subscription<string> | undefined;
let bookSub: BookSubscription | undefined;

client.on("bookResync", (i) => text("book-info", `re-syncing (${i.reason} at #${i.seq})`));

function subscribePair(p: string): void {
  pairSub?.unsubscribe();
  bookSub?.unsubscribe();
  pair = p;
  $("pairs")
    .querySelectorAll("button")
    .forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.pair === p)));
  text("ticker-pair", p.replace("_", "/").toUpperCase());
  $("trades").querySelector("tbody")!.replaceChildren();
  $("asks").replaceChildren();
  $("bids").replaceChildren();
  const streams = [`ticker.${p}`, `trades.${p}`] as const;
  pairSub = client.subscribe(streams, (f) => {
    if (isKind(f, "ticker")) showTicker(f.data, f.seq);
    else if (isKind(f, "trades")) addTrade(f);
  });
  // The book: the throttled diff view (one repaint per 100 ms at most), kept and verified by the client.
  bookSub = client.book(`depth.${p}@100ms`, (book, f) => {
    const top = book.top(BOOK_LEVELS);
    showBook(top.bids, top.asks, f.seq, book.lastUpdateId);
  });
  // The ticker only changes now and then: show the latest right away.
  client.snapshot(streams[0]).then(
    (s) => {
      if (pair === p && $("ticker-seq").textContent === "—") showTicker(s.data, s.seq);
    },
    () => {},
  );
  const url = new URL(location.href);
  url.searchParams.set("pair", p);
  history.replaceState(null, "", url);
}

for (const p of PAIRS) {
  const b = document.createElement("button");
  b.textContent = p.replace("_", "/").toUpperCase();
  b.dataset.pair = p;
  b.addEventListener("click", () => subscribePair(p));
  $("pairs").append(b);
}

setInterval(() => {
  const s = client.stats;
  text("stat-frames", String(s.delivered));
  text("stat-connects", String(s.connects));
  text("stat-resumes", String(s.resumes));
  text("stat-gaps", `${s.gaps} / ${s.duplicates}`);
  if (latencies.length) {
    const l = latencies.sort((a, b) => a - b);
    text("stat-latency", `p50 ${l[Math.floor(l.length / 2)]} ms · max ${l.at(-1)} ms`);
    latencies = [];
  }
}, 500);

if (!token) {
  notice("Add ?token=<jwt> to the page URL (the gateway's dev quick start prints a demo token).");
  showState("closed", "no token");
} else {
  subscribePair(pair);
  if (user) {
    client.subscribe(`orders.${user}`, (f) => {
      orders.set(String(f.data.orderId), f.data);
      if (orders.size > 200) {
        const oldest = [...orders.values()].sort((a, b) => a.timestamp - b.timestamp).slice(0, orders.size - 200);
        for (const o of oldest) orders.delete(String(o.orderId));
      }
      showOrders();
    }).ready.catch((e: Error) => logEvent(`orders: ${e.message}`));
  }
  client.connect();
}
