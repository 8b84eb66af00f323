/**
 * The admin dashboard (served at /admin, bundled by Bun.build with uPlot: see ../dashboard-page.ts).
 * Reads one gateway's admin API with its token: KPIs and charts from the SSE feed, the connections
 * table by polling, kicks by POST. No inline script or style anywhere, so the page runs under a
 * CSP of `script-src 'self'; style-src 'self'`.
 */
import "uplot/dist/uPlot.min.css";
import "./dashboard.css";
import type { StatsPoint, StatsSnapshot } from "../admin-stats.ts";
import { AdminClient, AuthError, normalizeBase, storage } from "./api.ts";
import { TimeChart, type SeriesSpec } from "./charts.ts";
import { ConnectionsTable } from "./connections-table.ts";
import { $, el, setKpi, setStatus, showError } from "./dom.ts";
import { fmtBytes, fmtMs, fmtNum } from "./format.ts";
import { renderSources, renderStreams } from "./tables.ts";

/** Points shown: five minutes at 1 s. */
const WINDOW = 300;
const REASON_COLORS: Record<string, string> = { normal: "#7f8c9b", restart: "#4fb3ff", slow_consumer: "#ff5d5d", kicked: "#b48cff", policy: "#f5b942", idle: "#3fd0c9", token_expired: "#e88fd0", abnormal: "#ff8a4c", going_away: "#6a8fb3", internal: "#ff3d71" };
const FALLBACK_COLORS = ["#9ad36a", "#d3b56a", "#6ad3c3", "#c36ad3", "#d36a8a"];

const state = { api: undefined as AdminClient | undefined, points: [] as StatsPoint[], snap: undefined as StatsSnapshot | undefined, feedAbort: undefined as AbortController | undefined, connTimer: 0 as unknown as ReturnType<typeof setInterval>, retry: 0, generation: 0 };

const charts = {
  connections: new TimeChart($("chart-connections"), [{ label: "connections", color: "#4fb3ff", fill: true }], fmtNum),
  throughput: new TimeChart($("chart-throughput"), [{ label: "events in/s", color: "#3ecf8e" }, { label: "frames out/s", color: "#4fb3ff" }], fmtNum),
  latency: new TimeChart(
    $("chart-latency"),
    [
      { label: "ingest p50", color: "#3fd0c9" },
      { label: "ingest p99", color: "#f5b942" },
      { label: "publish p50", color: "#6a8fb3" },
      { label: "publish p99", color: "#b48cff" },
    ],
    fmtMs,
  ),
  disconnects: new TimeChart($("chart-disconnects"), [], fmtNum, "bars"),
  problems: new TimeChart(
    $("chart-problems"),
    [
      { label: "slow drops", color: "#ff5d5d" },
      { label: "resume unavailable", color: "#f5b942" },
      { label: "auth failures", color: "#b48cff" },
      { label: "rate limited", color: "#3fd0c9" },
    ],
    fmtNum,
  ),
};

const connections = new ConnectionsTable(() => state.api, authRefused);

function authRefused(): void {
  const base = state.api?.base ?? location.origin;
  stopAll();
  setStatus("error", "refused");
  $("dash").classList.add("hidden");
  $("login").classList.remove("hidden");
  showError([el("b", { text: "Access refused (401)." }), " The admin token was rejected by " + base + ". Check ADMIN_TOKEN and try again."]);
  storage.saveToken(base, "");
}

async function connect(base: string, token: string): Promise<void> {
  stopAll();
  state.points = [];
  state.snap = undefined;
  state.retry = 0;
  state.api = token ? new AdminClient(base, token) : undefined;
  connections.reset();
  const gen = state.generation;
  storage.setLastBase(base);
  if (!state.api) {
    setStatus("", "not connected");
    showError([el("b", { text: "Admin token required." }), " The admin API refuses requests without it."]);
    return;
  }
  setStatus("wait", "connecting…");
  try {
    await state.api.call("/admin/api/sources");
  } catch (err) {
    if (gen !== state.generation) return;
    if (err instanceof AuthError) return authRefused();
    setStatus("error", "unreachable");
    showError([el("b", { text: "Cannot reach " + base + ": " }), (err as Error).message]);
    return;
  }
  if (gen !== state.generation) return;
  storage.saveToken(base, token);
  renderGatewayList(storage.rememberGateway(base));
  showError(null);
  $("login").classList.add("hidden");
  $("dash").classList.remove("hidden");
  void openFeed(gen);
  void connections.refresh();
  state.connTimer = setInterval(() => {
    if (!document.hidden) void connections.refresh();
  }, 2000);
}

function stopAll(): void {
  state.generation++;
  state.feedAbort?.abort();
  state.feedAbort = undefined;
  clearInterval(state.connTimer);
}

async function openFeed(gen: number): Promise<void> {
  const api = state.api!;
  const ctrl = new AbortController();
  state.feedAbort = ctrl;
  try {
    await api.feed(ctrl.signal, {
      open: () => {
        setStatus("live", "live");
        state.retry = 0;
      },
      history: (points) => {
        state.points = points.slice(-WINDOW);
      },
      snapshot: (s) => {
        const last = state.points.at(-1);
        if (!last || s.ts > last.ts) state.points.push(s);
        if (state.points.length > WINDOW) state.points.splice(0, state.points.length - WINDOW);
        state.snap = s;
        render();
      },
    });
  } catch (err) {
    if (ctrl.signal.aborted) return;
    if (err instanceof AuthError) return authRefused();
  }
  if (gen !== state.generation) return;
  setStatus("wait", "reconnecting…");
  const delay = Math.min(10_000, 500 * 2 ** state.retry++);
  setTimeout(() => {
    if (gen === state.generation) void openFeed(gen);
  }, delay);
}

const perSec = (n: number, p: StatsPoint) => n / (p.intervalSec || 1);
const sum = (o: Record<string, number> | undefined) => Object.values(o ?? {}).reduce((a, b) => a + b, 0);

function render(): void {
  const s = state.snap;
  if (!s) return;
  const pts = state.points;
  $("updated").textContent = new Date(s.ts).toLocaleTimeString();
  setKpi("kpi-connections", fmtNum(s.connections));
  $("sub-connections").textContent = "+" + fmtNum(s.openedPerSec) + " / −" + fmtNum(s.closedPerSec) + " per s · " + fmtNum(s.streams) + " streams";
  setKpi("kpi-events-in", fmtNum(s.eventsInPerSec));
  $("total-events-in").textContent = fmtNum(s.totals.eventsIn) + " total";
  $("total-events-in").dataset.total = String(s.totals.eventsIn);
  setKpi("kpi-frames-out", fmtNum(s.framesOutPerSec));
  $("total-frames-out").textContent = fmtNum(s.totals.framesOut) + " total";
  setKpi("kpi-bytes-out", fmtBytes(s.bytesOutPerSec));
  $("total-bytes-out").textContent = fmtBytes(s.totals.bytesOut) + " total";
  setKpi("kpi-ingest", fmtMs(s.ingestMs.p99), s.ingestMs.p99 !== null && s.ingestMs.p99 > 250 ? "warn" : "");
  $("sub-ingest").textContent = "source→gw · p50 " + fmtMs(s.ingestMs.p50);
  setKpi("kpi-publish", fmtMs(s.publishMs.p99), s.publishMs.p99 !== null && s.publishMs.p99 > 25 ? "warn" : "");
  $("sub-publish").textContent = "recv→publish · p50 " + fmtMs(s.publishMs.p50);
  const drops5 = pts.reduce((n, p) => n + (p.drops || 0), 0);
  setKpi("kpi-drops", fmtNum(drops5), drops5 > 0 ? "bad" : "good");
  $("sub-drops").textContent = fmtNum(s.totals.drops) + " since start";
  setKpi("kpi-ready", s.ready ? "yes" : "no", s.ready ? "good" : "bad");
  const down = s.sources.filter((x) => !x.connected).map((x) => x.name);
  $("sub-ready").textContent = down.length ? "down: " + down.join(", ") : s.sources.length + " source" + (s.sources.length === 1 ? "" : "s") + " up";
  $("latency-window").textContent = "ms, " + Math.round(s.latencyWindowSec || 0) + " s window";

  const times = pts.map((p) => p.ts);
  charts.connections.setData(times, [pts.map((p) => p.connections)]);
  charts.throughput.setData(times, [pts.map((p) => p.eventsInPerSec), pts.map((p) => p.framesOutPerSec)]);
  charts.latency.setData(times, [pts.map((p) => p.ingestMs.p50), pts.map((p) => p.ingestMs.p99), pts.map((p) => p.publishMs.p50), pts.map((p) => p.publishMs.p99)]);
  const reasons = [...new Set(pts.flatMap((p) => Object.keys(p.disconnects ?? {})))].sort();
  const reasonSeries: SeriesSpec[] = reasons.map((r, i) => ({ label: r, color: REASON_COLORS[r] ?? FALLBACK_COLORS[i % FALLBACK_COLORS.length]! }));
  charts.disconnects.setData(times, reasons.map((r) => pts.map((p) => perSec(p.disconnects?.[r] ?? 0, p))), reasonSeries);
  charts.problems.setData(times, [pts.map((p) => perSec(p.drops, p)), pts.map((p) => perSec(p.resumesUnavailable, p)), pts.map((p) => perSec(sum(p.authFailures), p)), pts.map((p) => perSec(p.rateLimited, p))]);
  renderSources(s.sources);
  renderStreams(s.topStreams, s.streams);
}

function renderGatewayList(list: string[]): void {
  $("gateways").replaceChildren(...list.map((u) => el("option", { value: u })));
}

$("connect-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const baseInput = $("base") as HTMLInputElement;
  const tokenInput = $("token") as HTMLInputElement;
  let base: string;
  try {
    base = normalizeBase(baseInput.value);
  } catch {
    showError([el("b", { text: "Invalid gateway URL." })]);
    return;
  }
  baseInput.value = base;
  const token = tokenInput.value.trim() || storage.tokens()[base] || "";
  tokenInput.value = "";
  void connect(base, token);
});
$("forget").addEventListener("click", () => {
  storage.saveToken(state.api?.base ?? location.origin, "");
  stopAll();
  state.api = undefined;
  $("dash").classList.add("hidden");
  $("login").classList.remove("hidden");
  setStatus("", "signed out");
  showError(null);
});
window.addEventListener("resize", () => {
  for (const c of Object.values(charts)) c.resize();
});

renderGatewayList(storage.gateways());
const startBase = storage.lastBase() || location.origin;
($("base") as HTMLInputElement).value = startBase;
const saved = storage.tokens()[startBase];
if (saved) void connect(startBase, saved);
else $("token").focus();
