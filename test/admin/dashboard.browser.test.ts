import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ADMIN_TOKEN, connectClient, startGateway, waitFor, type TestClient, type TestGateway } from "./helpers.ts";

/**
 * The dashboard in real headless Chromium against a real gateway with the simulator on.
 * Set ADMIN_SCREENSHOT=1 to (re)write docs/admin-dashboard.png (default: a temp file), and
 * ADMIN_SCREENSHOT_WAIT_MS to let the charts fill longer before it is taken.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOT = process.env.ADMIN_SCREENSHOT === "1" ? join(import.meta.dir, "../../docs/admin-dashboard.png") : join(tmpdir(), "admin-dashboard.png");
const SCREENSHOT_WAIT_MS = Number(process.env.ADMIN_SCREENSHOT_WAIT_MS ?? 4000);

describe("admin dashboard in Chromium", () => {
  let tg: TestGateway;
  let browser: Browser;
  let page: Page;
  const clients: TestClient[] = [];
  const pageErrors: string[] = [];
  const cspViolations = () => page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);

  beforeAll(async () => {
    tg = await startGateway({ simulator: true, eventsPerSecond: 400 });
    for (const [user, streams] of [
      ["alice", ["trades.btc_usdt", "depth.btc_usdt", "ticker.btc_usdt", "orders.alice"]],
      ["bob", ["trades.btc_usdt", "ticker.eth_usdt"]],
      ["carol", ["trades.btc_usdt", "depth.eth_usdt", "ticker.sol_usdt", "orders.carol"]],
      ["dave", ["ticker.btc_usdt", "trades.eth_usdt"]],
    ] as const) {
      clients.push(await connectClient(tg.base, user, [...streams]));
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-quic"],
    });
    page = await browser.newPage({ viewport: { width: 1480, height: 1040 }, deviceScaleFactor: 1 });
    page.on("pageerror", (err) => {
      pageErrors.push(err.message);
      console.error("page error:", err.message);
    });
    // Every CSP violation the page causes (inline script/style, foreign origins) is recorded.
    await page.addInitScript(() => {
      (window as unknown as { cspViolations: string[] }).cspViolations = [];
      document.addEventListener("securitypolicyviolation", (e) => (window as unknown as { cspViolations: string[] }).cspViolations.push(`${e.violatedDirective}: ${e.blockedURI}`));
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const c of clients) c.ws.close();
    await tg?.stop();
  });

  test("refuses without the token and with a wrong one", async () => {
    await page.goto(tg.base + "/admin");
    expect(await page.isVisible("#login")).toBe(true);
    expect(await page.isHidden("#dash")).toBe(true);
    // The API itself refuses a request from the page without the bearer header.
    expect(await page.evaluate(async () => (await fetch("/admin/api/connections")).status)).toBe(401);

    await page.click("#connect");
    await page.waitForSelector("#error.show");
    expect(await page.textContent("#error")).toContain("Admin token required");

    await page.fill("#token", "not-the-token");
    await page.click("#connect");
    await page.waitForFunction(() => document.querySelector("#error")?.textContent?.includes("401"));
    expect(await page.textContent("#error")).toContain("Access refused (401)");
    expect(await page.textContent("#status-text")).toBe("refused");
    expect(await page.isHidden("#dash")).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem("cexgw.admin.tokens"))).toBe("{}");
  }, 30_000);

  test("loads behind the token and shows numbers that change while the simulator runs", async () => {
    await page.fill("#token", ADMIN_TOKEN);
    await page.click("#connect");
    await page.waitForSelector("#dash:not(.hidden)");
    await page.waitForFunction(() => document.querySelector("#status-text")?.textContent === "live");
    expect(await page.isVisible("#error")).toBe(false);

    await page.waitForFunction(() => Number(document.querySelector("#total-events-in")?.getAttribute("data-total") ?? 0) > 0);
    const first = Number(await page.getAttribute("#total-events-in", "data-total"));
    const firstPoints = Number(await page.getAttribute("#chart-throughput", "data-points"));
    await page.waitForFunction((n) => Number(document.querySelector("#total-events-in")?.getAttribute("data-total") ?? 0) > n, first, { timeout: 10_000 });
    const second = Number(await page.getAttribute("#total-events-in", "data-total"));
    expect(second).toBeGreaterThan(first);
    expect(Number(await page.getAttribute("#chart-throughput", "data-points"))).toBeGreaterThan(firstPoints);

    expect(await page.textContent("#kpi-connections .value")).toBe(String(tg.gateway.sessions.size));
    const eventsPerSec = Number((await page.textContent("#kpi-events-in .value"))!.replace(/[^\d.]/g, ""));
    expect(eventsPerSec).toBeGreaterThan(0);
    expect(await page.textContent("#kpi-ready .value")).toBe("yes");
    // Source health and top streams come from the feed.
    expect(await page.textContent("#sources tbody")).toContain("embedded");
    expect(await page.textContent("#sources tbody")).toContain("connected");
    await page.waitForFunction(() => (document.querySelector("#top-streams tbody tr td")?.textContent ?? "") === "trades.btc_usdt");
    // The connections table lists every open connection.
    await page.waitForFunction((n) => document.querySelectorAll("#connections tbody tr[data-conn-id]").length === n, tg.gateway.sessions.size);
    // The token lives in session storage for this gateway only.
    expect(await page.evaluate(() => sessionStorage.getItem("cexgw.admin.tokens"))).toContain(ADMIN_TOKEN);
    expect(await page.evaluate(() => localStorage.getItem("cexgw.admin.gateways") ?? "")).not.toContain(ADMIN_TOKEN);
  }, 30_000);

  test("charts are uPlot with a hover read-out: the values under the cursor, the latest ones elsewhere", async () => {
    const chart = "#chart-throughput";
    await page.waitForFunction((sel) => Number(document.querySelector(sel)?.getAttribute("data-points") ?? 0) >= 4, chart, { timeout: 15_000 });
    for (const id of ["connections", "throughput", "latency", "disconnects", "problems"]) expect(await page.isVisible(`#chart-${id} .uplot canvas`), id).toBe(true);
    const legend = () => page.$$eval(`${chart} .u-legend .u-series`, (rows) => rows.map((r) => [r.querySelector(".u-label")?.textContent ?? "", r.querySelector(".u-value")?.textContent ?? ""]));
    const latest = await legend();
    expect(latest.map((r) => r[0])).toEqual(["time", "events in/s", "frames out/s"]);
    expect(latest[1]![1]).toMatch(/^\d/);
    // Hover the left part of the plot: the read-out moves to an older point.
    const over = (await page.$(`${chart} .u-over`))!;
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.1, box.y + box.height / 2);
    await page.waitForFunction(([sel, t]) => document.querySelector(`${sel} .u-legend .u-series .u-value`)?.textContent !== t, [chart, latest[0]![1]] as const);
    const hovered = await legend();
    expect(hovered[0]![1]).toMatch(/\d{1,2}:\d{2}:\d{2}/);
    expect(hovered[1]![1]).toMatch(/^(\d|–)/);
    // Away from the chart, the latest values come back (and follow new snapshots).
    await page.mouse.move(2, 2);
    await page.waitForFunction(([sel, t]) => document.querySelector(`${sel} .u-legend .u-series .u-value`)?.textContent !== t, [chart, hovered[0]![1]] as const);
    expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
  }, 30_000);

  test("the CSP is enforced: an inline script injected into the page does not run", async () => {
    type W = { cspViolations: string[]; injected?: number };
    await page.evaluate(() => {
      const s = document.createElement("script");
      s.textContent = "window.injected = 1";
      document.body.append(s);
    });
    await page.waitForFunction(() => (window as unknown as W).cspViolations.length > 0);
    expect(await page.evaluate(() => (window as unknown as W).injected)).toBeUndefined();
    expect((await cspViolations())[0]).toStartWith("script-src");
    await page.evaluate(() => ((window as unknown as W).cspViolations = []));
  });

  test("a kick from the UI removes a real WebSocket connection with 4001", async () => {
    const victim = await connectClient(tg.base, "kickme", ["trades.eth_usdt", "orders.kickme"]);
    const id = tg.gateway.sessions.ofUser("kickme")[0]!.id;
    const row = `#connections tbody tr[data-conn-id="${id}"]`;
    await page.waitForSelector(row, { timeout: 10_000 });
    expect(await page.textContent(`${row} td:nth-child(2)`)).toBe("kickme");
    page.once("dialog", (d) => void d.accept());
    await page.click(`${row} button.kick`);
    const closed = await victim.closed;
    expect(closed.code).toBe(4001);
    await waitFor(() => tg.gateway.sessions.ofUser("kickme").length === 0, 5000, "session removal");
    await page.waitForSelector(row, { state: "detached", timeout: 10_000 });
    await page.waitForFunction(() => document.querySelector("#toast")?.textContent?.includes("kicked"));
    for (const c of clients) expect(c.ws.readyState).toBe(WebSocket.OPEN);
  }, 30_000);

  test("points at another gateway when that gateway allows this origin (ADMIN_CORS_ORIGINS)", async () => {
    const other = await startGateway({ admin: { corsOrigins: [tg.base] } });
    const closed = await startGateway();
    const elsewhere = await connectClient(other.base, "elsewhere", ["ticker.btc_usdt"]);
    try {
      await page.fill("#base", other.base);
      await page.fill("#token", ADMIN_TOKEN);
      await page.click("#connect");
      await page.waitForSelector('#connections tbody tr[data-user="elsewhere"]', { timeout: 10_000 });
      await page.waitForFunction(() => document.querySelector("#kpi-connections .value")?.textContent === "1");
      expect(await page.isVisible('#connections tbody tr[data-user="alice"]')).toBe(false);
      // A kick from this page reaches the other gateway.
      page.once("dialog", (d) => void d.accept());
      await page.click('#connections tbody tr[data-user="elsewhere"] button.kick');
      expect((await elsewhere.closed).code).toBe(4001);

      // A gateway that does not list this origin cannot be read from the page.
      await page.fill("#base", closed.base);
      await page.fill("#token", ADMIN_TOKEN);
      await page.click("#connect");
      await page.waitForFunction(() => document.querySelector("#error")?.textContent?.includes("ADMIN_CORS_ORIGINS"));
      expect(await page.textContent("#status-text")).toBe("unreachable");
    } finally {
      elsewhere.ws.close();
      await other.stop();
      await closed.stop();
    }
    // Back to the first gateway: its token is still in this tab's session storage.
    await page.fill("#base", tg.base);
    await page.click("#connect");
    await page.waitForFunction(() => document.querySelector("#status-text")?.textContent === "live");
    await page.waitForSelector('#connections tbody tr[data-user="alice"]');
  }, 30_000);

  test("screenshot", async () => {
    // Some churn so the disconnect and problem charts have something to show.
    const churn: Promise<unknown>[] = [];
    const end = Date.now() + SCREENSHOT_WAIT_MS;
    let n = 0;
    while (Date.now() < end) {
      n++;
      const c = await connectClient(tg.base, `churn${n % 7}`, ["ticker.btc_usdt"]);
      if (n % 3 === 0) c.ws.close(1000);
      else clients.push(c);
      if (n % 5 === 0) churn.push(fetch(`${tg.base}/admin/api/users/churn${n % 7}/kick`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
      if (n % 4 === 0) {
        // A refused upgrade: counted as an auth failure.
        const bad = new WebSocket(`${tg.base.replace("http", "ws")}/ws?token=bad`);
        churn.push(new Promise((r) => bad.addEventListener("close", r)));
      }
      await Bun.sleep(Math.min(400, SCREENSHOT_WAIT_MS / 8));
    }
    await Promise.all(churn);
    await Bun.sleep(1500);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    // The whole session ran under the strict CSP without a single violation or page error.
    expect(await cspViolations()).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 600_000);
});
