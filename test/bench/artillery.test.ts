/**
 * The Artillery scenario (bench/artillery/gateway.yml, engine ws) at the small scale of its default
 * phase, 200 virtual users, against a gateway process with its market simulator on: every user
 * connects with a token, subscribes and holds; none fails. So the scenario cannot rot.
 */
import { afterAll, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { kafkaWorkerNode } from "../../src/sources/kafka/kafka-source.ts";
import { spawnGateway, type ChildGateway } from "../helpers/child-gateway.ts";
import { tokenFor } from "../helpers/credentials.ts";
import { REPO_ROOT, tempDir } from "../helpers/test-env.ts";

let gw: ChildGateway | undefined;
afterAll(async () => {
  await gw?.kill("SIGKILL");
});

test("Artillery ws scenario: 200 users connect with a token, subscribe, hold; none fails", async () => {
  const dir = tempDir("artillery");
  gw = await spawnGateway({ SIMULATOR: "1", LOG_DIR: path.join(dir, "log") });
  const token = await tokenFor("artillery");
  const report = path.join(dir, "report.json");
  // Artillery 2 needs Node >= 22.18: the Node runtime scripts/build-kafka.sh provides (v26).
  const proc = Bun.spawn([kafkaWorkerNode(), path.join(REPO_ROOT, "node_modules/artillery/bin/run"), "run", "--quiet", "--target", `${gw.wsUrl()}?token=${token}`, "--output", report, "bench/artillery/gateway.yml"], {
    cwd: REPO_ROOT,
    env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: "true" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`artillery exited ${code}\n${out.slice(-2000)}\n${err.slice(-2000)}`);
  const counters = (JSON.parse(fs.readFileSync(report, "utf8")) as { aggregate: { counters: Record<string, number> } }).aggregate.counters;
  expect(counters["vusers.created"]).toBe(200);
  expect(counters["vusers.completed"]).toBe(200);
  expect(counters["vusers.failed"] ?? 0).toBe(0);
  // They were really subscribed: the gateway counted their subscribe requests.
  const metrics = await (await fetch(`http://127.0.0.1:${gw.port}/metrics`)).text();
  const subs = metrics.split("\n").find((l) => l.startsWith("gateway_client_messages_total") && l.includes('action="subscribe"'));
  expect(Number(subs?.split(" ").pop())).toBeGreaterThanOrEqual(200);
  fs.rmSync(dir, { recursive: true, force: true });
}, 120_000);
