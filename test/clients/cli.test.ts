/**
 * The CLI (`bun clients/cli ...`) against a real gateway: the same frames in both formats, raw and
 * pretty output, the --stats summary, usage errors.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { parseCli, prettyFrame, StatsWindow } from "../../clients/cli/index.ts";
import { freePort, GatewayProcess, signToken, tempLogDir, trade, until } from "./helpers/gateway-process.ts";

const ROOT = path.resolve(import.meta.dir, "../..");
let gw: GatewayProcess;
let token: string;

beforeAll(async () => {
  gw = new GatewayProcess({ port: freePort(), logDir: tempLogDir("cli") });
  await gw.start();
  token = await signToken("user1");
});

afterAll(async () => {
  await gw.stop("SIGKILL");
  fs.rmSync(gw.opts.logDir, { recursive: true, force: true });
});

/** Runs `bun clients/cli ...args` (the directory, as documented) and collects its output. */
function cli(args: string[]) {
  const proc = Bun.spawn([process.execPath, "clients/cli", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  let out = "";
  let err = "";
  const dec = new TextDecoder();
  const read = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    const reader = s.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      add(dec.decode(value, { stream: true }));
    }
  };
  const done = Promise.all([read(proc.stdout as ReadableStream<Uint8Array>, (t) => (out += t)), read(proc.stderr as ReadableStream<Uint8Array>, (t) => (err += t)), proc.exited]);
  return { proc, out: () => out, err: () => err, done: async () => (await done)[2] };
}

describe("bun clients/cli", () => {
  test("subscribe --raw prints the same JSON frames in both formats", async () => {
    const stream = "trades.cli";
    const runs = ["json", "fb"].map((format) => cli(["--url", gw.wsUrl, "--token", token, "--format", format, "--raw", "--count", "3", "subscribe", stream]));
    await until(() => runs.every((r) => r.err().includes("subscribed")), "both CLIs subscribed");
    const published = await gw.publish([1, 2, 3].map((i) => ({ stream, data: trade(i) })));
    const codes = await Promise.all(runs.map((r) => r.done()));
    expect(codes).toEqual([0, 0]);
    const [json, fb] = runs.map((r) => r.out().trim().split("\n").map((l) => JSON.parse(l)));
    expect(json!.map((f: { seq: number }) => f.seq)).toEqual(published.map((p) => p.seq));
    expect(fb).toEqual(json!);
    expect(json![0].data).toMatchObject({ id: 1, price: "100.01", side: "buy" });
  });

  test("pretty output and --stats (rate and latency every second)", async () => {
    const stream = "ticker.cli";
    const pretty = cli(["--url", gw.wsUrl, "--token", token, "--format", "fb", "--count", "1", "subscribe", stream]);
    const stats = cli(["--url", gw.wsUrl, "--token", token, "--format", "fb", "--stats", "--duration", "2.6", "subscribe", stream, "trades.cli2"]);
    await until(() => pretty.err().includes("subscribed") && stats.err().includes("subscribed"), "subscribed");
    const iv = setInterval(() => {
      void gw.publish([
        { stream, data: { price: "101.5", volume: "10", high: "110", low: "90", change: "-1.2", timestamp: Date.now() } },
        { stream: "trades.cli2", data: trade(1) },
      ]);
    }, 50);
    try {
      expect(await pretty.done()).toBe(0);
      expect(await stats.done()).toBe(0);
    } finally {
      clearInterval(iv);
    }
    expect(pretty.out()).toMatch(/ticker\.cli #\d+ {2}last 101\.5 {2}chg -1\.2 {2}high 110 {2}low 90 {2}vol 10/);
    const lines = stats.out().trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[1]).toMatch(/\d+ msg\/s \(ticker \d+, trades \d+\) .* latency ms p50 \d+ p90 \d+ p99 \d+ max \d+ \(gatewayTs\) {2}\[open\]/);
  });

  test("snapshot prints the latest event", async () => {
    await gw.publish([{ stream: "trades.snap", data: trade(7) }]);
    const r = cli(["--url", gw.wsUrl, "--token", token, "--raw", "snapshot", "trades.snap"]);
    expect(await r.done()).toBe(0);
    expect(JSON.parse(r.out())).toMatchObject({ stream: "trades.snap", seq: 1, data: { id: 7 } });
  });

  test("a refused stream ends with exit code 1; bad usage with 2", async () => {
    const r = cli(["--url", gw.wsUrl, "--token", token, "subscribe", "orders.user2"]);
    expect(await r.done()).toBe(1);
    expect(r.err()).toContain("forbidden");
    const u = cli(["--format", "xml", "subscribe", "a.b"]);
    expect(await u.done()).toBe(2);
    expect(u.err()).toContain("Usage:");
  });
});

describe("cli internals", () => {
  test("parseCli: options, env defaults, errors", () => {
    expect(parseCli(["subscribe", "ticker.btc_usdt"], { CEX_TOKEN: "t", CEX_URL: "ws://x/ws" })).toMatchObject({
      url: "ws://x/ws",
      token: "t",
      format: "json",
      command: "subscribe",
      streams: ["ticker.btc_usdt"],
    });
    expect(parseCli(["--format", "fb", "--raw", "--stats", "--count", "5", "subscribe", "a.b", "c.d"], {})).toMatchObject({ format: "fb", raw: true, stats: true, count: 5, streams: ["a.b", "c.d"] });
    expect(parseCli(["-h"], {})).toBe("help");
    expect(() => parseCli(["subscribe"], {})).toThrow("at least one stream");
    expect(() => parseCli(["watch", "a.b"], {})).toThrow("unknown command");
    expect(() => parseCli(["--count", "0", "subscribe", "a.b"], {})).toThrow("--count");
  });

  test("prettyFrame for every kind, and anything else as JSON", () => {
    const meta = { receivedAt: 0, size: 1, replay: false };
    expect(prettyFrame({ stream: "trades.x", seq: 1, prev: 0, data: trade(1) }, meta)).toContain("BUY  0.5 @ 100.01  id=1");
    expect(prettyFrame({ stream: "depth.x", seq: 2, prev: 1, data: { bids: [["1", "2"]], asks: [], firstUpdateId: 1, lastUpdateId: 2, timestamp: 0 } }, meta)).toContain("(1x0 levels, upd 2)");
    expect(prettyFrame({ stream: "orders.u", seq: 3, prev: 2, data: { orderId: 9, pair: "p", side: "sell", type: "limit", status: "new", price: "1", qty: "2", filledQty: "0", timestamp: 0 } }, meta)).toContain("order 9 p");
    expect(prettyFrame({ stream: "news.x", seq: 4, prev: 3, data: { a: 1 } }, { ...meta, replay: true })).toContain('(replay)  {"a":1}');
  });

  test("StatsWindow: rate per kind and latency percentiles", () => {
    const w = new StatsWindow();
    for (let i = 0; i < 100; i++) w.add({ stream: i % 2 ? "trades.x" : "depth.x", seq: i, prev: i - 1, data: { timestamp: 1000 } }, { receivedAt: 1000 + i, size: 100, replay: false });
    const line = w.flush(2000, "x");
    expect(line).toContain("50 msg/s (depth 25, trades 25)");
    expect(line).toContain("latency ms p50 50 p90 90 p99 99 max 99 (data.timestamp)");
  });
});
