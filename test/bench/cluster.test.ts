/**
 * bench/cluster.ts at a small scale, so the cluster load test cannot rot: 3 gateways behind one
 * REUSE_PORT port reading a real NATS JetStream, 3,000 typed clients, 20 s of market events, one
 * gateway killed with SIGKILL mid-window. Every client must end with every event exactly once.
 */
import { expect, test } from "bun:test";
import { SERVICES_TIMEOUT_MS } from "../helpers/services.ts";
import { REPO_ROOT } from "../helpers/test-env.ts";

test("cluster bench: 3 gateways, 3,000 clients, --chaos kill: nothing lost, nothing duplicated", async () => {
  const proc = Bun.spawn([process.execPath, "bench/cluster.ts", "--clients", "3000", "--gateways", "3", "--seconds", "20", "--events-per-sec", "200", "--chaos", "kill", "--json"], {
    cwd: REPO_ROOT,
    env: { ...process.env, CLUSTER_MAX_SECONDS: "240" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`bench/cluster.ts exited ${code}\n${out.slice(-3000)}\n${err.slice(-3000)}`);
  const r = JSON.parse(out.trim().split("\n").pop()!) as Record<string, number>;
  expect(r.connections).toBe(3000);
  expect(r.expected).toBeGreaterThan(3000 * 4);
  expect(r.lost).toBe(0);
  expect(r.duplicated).toBe(0);
  expect(r.chainBreaks).toBe(0);
  expect(r.delivered).toBe(r.expected);
  // The kill really happened: a third of the clients lost their gateway and came back.
  expect(r.closes).toBeGreaterThan(300);
  expect(r.reconnects).toBe(r.closes);
}, SERVICES_TIMEOUT_MS + 240_000);
