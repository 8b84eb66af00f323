/**
 * The web page (clients/web) in real headless Chromium against a real gateway with the simulator
 * on: it loads from /app, connects, shows live ticker / book / trades / the user's orders, and
 * recovers by itself (reconnect + resume) after the gateway is killed and restarted. Saves a
 * screenshot to docs/web-client.png.
 *
 * Needs Chromium (`apt-get install -y chromium`, done by scripts/test.sh; CHROMIUM_PATH overrides
 * /usr/bin/chromium): without it the test fails, it is never skipped. The gateway is `src/main.ts`.
 * Set WEB_SCREENSHOT=1 to (re)write docs/web-client.png (default: a temp file).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { freePort, GatewayProcess, signToken, tempLogDir } from "./helpers/gateway-process.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOT =
  process.env.WEB_SCREENSHOT === "1" ? path.resolve(import.meta.dir, "../../docs/web-client.png") : path.join(os.tmpdir(), "web-client.png");

let gw: GatewayProcess;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium`);
  gw = new GatewayProcess({ port: freePort(), logDir: tempLogDir("web"), simulator: true, entry: "src/main.ts" });
  await gw.start(30_000);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-quic"],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (gw) {
    await gw.stop("SIGKILL");
    fs.rmSync(gw.opts.logDir, { recursive: true, force: true });
  }
});

async function counter(page: Page, id: string): Promise<number> {
  return Number((await page.textContent(`#${id}`)) ?? "0");
}

async function waitLive(page: Page, timeout = 15_000): Promise<void> {
  await page.waitForSelector('#state[data-state="open"]', { timeout });
  await page.waitForFunction(() => document.getElementById("ticker-price")?.textContent !== "—", undefined, { timeout });
  await page.waitForFunction(() => document.querySelectorAll("#asks tr").length > 0 && document.querySelectorAll("#bids tr").length > 0, undefined, { timeout });
  await page.waitForFunction(() => document.querySelectorAll("#trades tbody tr").length > 0, undefined, { timeout });
  await page.waitForFunction(() => document.querySelectorAll("#orders tbody tr").length > 0, undefined, { timeout });
}

test(
  "the page loads from /app, shows live data over FlatBuffers, and recovers after a gateway restart",
  async () => {
    const page = await browser!.newPage({ viewport: { width: 1360, height: 860 } });
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      // Chromium itself logs a refused WebSocket while the killed gateway restarts (under load the
      // page's first retry can beat the new process); the page cannot silence that, so it is no problem.
      if (m.type() === "error" && !m.text().includes("ERR_CONNECTION_REFUSED")) problems.push(`console: ${m.text()}`);
    });
    const token = await signToken("user1");
    const res = await page.goto(`${gw.httpUrl}/app?token=${token}`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-security-policy"]).toContain("default-src 'self'");

    await waitLive(page);
    expect(await page.textContent("#stat-format")).toContain("FlatBuffers");
    expect(await page.textContent("#orders-user")).toBe("orders.user1");
    // Only the user's own orders: every row is a simulator order of user1 (the stream is private).
    // The counters are repainted every 500 ms, so the page can be live before they show it.
    await page.waitForFunction(() => Number(document.getElementById("stat-frames")?.textContent) > 0, undefined, { timeout: 5_000 });
    const framesBefore = await counter(page, "stat-frames");
    expect(framesBefore).toBeGreaterThan(0);
    const bookBefore = await page.textContent("#book-info");

    // Record every state the page's client goes through.
    await page.evaluate(() => {
      const w = globalThis as unknown as { cexApp: { client: { on: (e: string, f: (s: string) => void) => void } }; seen: string[] };
      w.seen = [];
      w.cexApp.client.on("state", (s) => w.seen.push(s));
    });

    await gw.restart("SIGKILL"); // a crash: every socket drops; the log survives
    await page.waitForFunction(() => (globalThis as unknown as { seen: string[] }).seen.includes("reconnecting"), undefined, { timeout: 10_000 });
    await page.waitForSelector('#state[data-state="open"]', { timeout: 15_000 });
    const seen = await page.evaluate(() => (globalThis as unknown as { seen: string[] }).seen);
    expect(seen[0]).toBe("reconnecting");
    expect(seen.at(-1)).toBe("open");

    // Data flows again: more frames, a newer book, streams resumed rather than restarted.
    await page.waitForFunction((n) => Number(document.getElementById("stat-frames")?.textContent) > n + 50, framesBefore, { timeout: 15_000 });
    await page.waitForFunction((b) => document.getElementById("book-info")?.textContent !== b, bookBefore, { timeout: 10_000 });
    expect(await counter(page, "stat-connects")).toBe(2);
    expect(await counter(page, "stat-resumes")).toBeGreaterThanOrEqual(3);
    expect(await page.textContent("#stat-gaps")).toMatch(/^0 \/ \d+$/); // no gaps (duplicates are harmless)
    await waitLive(page);

    // Switching pair re-subscribes.
    await page.click('nav button[data-pair="eth_usdt"]');
    await page.waitForFunction(() => document.getElementById("ticker-pair")?.textContent === "ETH/USDT");
    await page.waitForFunction(() => Number(document.querySelector("#asks tr td")?.textContent) < 10_000, undefined, { timeout: 10_000 });
    await page.click('nav button[data-pair="btc_usdt"]');
    await waitLive(page);
    await Bun.sleep(1500); // a few more updates so the screenshot shows a filled page

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  },
  90_000,
);

test("without a token the page says how to get one", async () => {
  const page = await browser!.newPage();
  await page.goto(`${gw.httpUrl}/app`);
  await page.waitForSelector("#notice:not([hidden])");
  expect(await page.textContent("#notice")).toContain("?token=");
  expect(await page.getAttribute("#state", "data-state")).toBe("closed");
  await page.close();
});
