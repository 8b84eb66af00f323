/** loadConfig: defaults, env and CONFIG_FILE, and one ConfigError listing every problem; main exits 2 on it. */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { ConfigError } from "../../src/config/config-error.ts";
import { loadConfig, redactConfig } from "../../src/config/config.ts";
import { validateSourceDefs } from "../../src/config/source-defs.ts";
import { runMain, tempDir } from "../helpers/gateway-harness.ts";

const dir = tempDir("config");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The ConfigError that loadConfig(env) throws (fails the test if it does not throw one). */
function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    for (const p of e.problems) expect(e.message).toContain(p);
    return e.problems;
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) did not throw`);
}

function writeJson(name: string, value: unknown): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, typeof value === "string" ? value : JSON.stringify(value));
  return p;
}

describe("defaults", () => {
  test("an empty env gives a dev configuration with generated secrets", () => {
    const cfg = loadConfig({});
    expect(cfg.port).toBe(8080);
    expect(cfg.host).toBe("0.0.0.0");
    expect(cfg.jwtSecretGenerated).toBe(true);
    expect(cfg.adminTokenGenerated).toBe(true);
    expect(cfg.auth.jwt.secret!.length).toBeGreaterThanOrEqual(32);
    expect(cfg.adminToken.length).toBeGreaterThanOrEqual(32);
    expect(cfg.auth.jwt.algorithms).toEqual(["HS256"]);
    expect(cfg.auth.allowAnonymous).toBe(false);
    expect(cfg.streams).toEqual({ public: ["trades.*", "depth.*", "depth5.*", "depth20.*", "ticker.*"], private: ["orders.*"], pairs: undefined });
    expect(cfg.limits).toEqual({
      maxStreamsPerConnection: 1024,
      maxFrameBytes: 65536,
      messagesPerSecond: 20,
      messageBurst: 50,
      maxRateViolations: 20,
      connectionsPerIpPerMinute: 600,
      maxHeaderBytes: 16 * 1024,
      maxPayloadDepth: 32,
      sendBufferBytes: 1 << 20,
      replayStallMs: 10_000,
      idleTimeoutSec: 60,
      shutdownGraceMs: 5000,
    });
    expect(cfg.simulator.enabled).toBe(true);
    expect(cfg.log).toEqual({ dir: "./data/log", segmentBytes: 1 << 20, segments: 4, maxEvents: 10_000, maxStreams: 10_000, syncIntervalMs: 0, createInBackground: false, private: { segmentBytes: 65536, segments: 2, maxEvents: 1000 } });
    expect(cfg.logLevel).toBe("info");
    // Two loads generate different secrets.
    expect(loadConfig({}).auth.jwt.secret).not.toBe(cfg.auth.jwt.secret);
  });

  test("with a public key and no secret, only asymmetric algorithms are accepted", () => {
    const cfg = loadConfig({ JWT_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n" });
    expect(cfg.auth.jwt.secret).toBeUndefined();
    expect(cfg.jwtSecretGenerated).toBe(false);
    expect(cfg.auth.jwt.algorithms).toEqual(["RS256", "ES256", "EdDSA"]);
  });
});

describe("environment", () => {
  test("values are parsed and typed", () => {
    const cfg = loadConfig({
      HOST: "127.0.0.1",
      PORT: "0",
      REUSE_PORT: "true",
      JWT_SECRET: "s",
      ADMIN_TOKEN: "a",
      JWT_ISSUER: "iss",
      JWT_AUDIENCE: "aud",
      JWT_ALGORITHMS: "HS256, HS512",
      ALLOW_ANONYMOUS: "yes",
      PUBLIC_STREAMS: "trades.*,status.global",
      PAIRS: "btc_usdt, eth_usdt",
      MAX_STREAMS_PER_CONNECTION: "10",
      CLIENT_MESSAGES_PER_SEC: "2.5",
      CLIENT_MESSAGE_BURST: "7",
      SEND_BUFFER_BYTES: "65536",
      SIMULATOR: "off",
      LOG_DIR: "",
      LOG_LEVEL: "warn",
    });
    expect(cfg.host).toBe("127.0.0.1");
    expect(cfg.port).toBe(0);
    expect(cfg.reusePort).toBe(true);
    expect(cfg.adminTokenGenerated).toBe(false);
    expect(cfg.auth.jwt).toMatchObject({ secret: "s", issuer: "iss", audience: "aud", algorithms: ["HS256", "HS512"] });
    expect(cfg.auth.allowAnonymous).toBe(true);
    expect(cfg.streams.public).toEqual(["trades.*", "status.global"]);
    expect(cfg.streams.pairs).toEqual(["btc_usdt", "eth_usdt"]);
    expect(cfg.limits.maxStreamsPerConnection).toBe(10);
    expect(cfg.limits.messagesPerSecond).toBe(2.5);
    expect(cfg.limits.messageBurst).toBe(7);
    expect(cfg.limits.sendBufferBytes).toBe(65536);
    expect(cfg.simulator.enabled).toBe(false);
    // An empty value counts as unset, except LOG_DIR where empty means memory-only logs.
    expect(cfg.log.dir).toBe("");
    expect(cfg.logLevel).toBe("warn");
  });

  test("a burst below the rate is raised to the rate", () => {
    const cfg = loadConfig({ CLIENT_MESSAGES_PER_SEC: "30.5", CLIENT_MESSAGE_BURST: "3" });
    expect(cfg.limits.messageBurst).toBe(31);
  });

  test("JWT_PUBLIC_KEY may be a file path", () => {
    const pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
    const file = writeJson("key.pem", pem);
    expect(loadConfig({ JWT_PUBLIC_KEY: file }).auth.jwt.publicKeyPem).toBe(pem);
  });
});

describe("CONFIG_FILE", () => {
  test("file values apply; env wins over the file", () => {
    const file = writeJson("cfg.json", {
      port: 9001,
      host: "127.0.0.2",
      auth: { jwt: { secret: "from-file", issuer: "file-iss" }, allowAnonymous: true },
      streams: { public: ["ticker.*"], pairs: ["btc_usdt"] },
      limits: { maxFrameBytes: 2048, shutdownGraceMs: 100 },
      log: { dir: "/tmp/x", segments: 3 },
    });
    const cfg = loadConfig({ CONFIG_FILE: file, PORT: "9002" });
    expect(cfg.port).toBe(9002);
    expect(cfg.host).toBe("127.0.0.2");
    expect(cfg.auth.jwt.secret).toBe("from-file");
    expect(cfg.jwtSecretGenerated).toBe(false);
    expect(cfg.auth.jwt.issuer).toBe("file-iss");
    expect(cfg.auth.allowAnonymous).toBe(true);
    expect(cfg.streams.public).toEqual(["ticker.*"]);
    expect(cfg.streams.pairs).toEqual(["btc_usdt"]);
    expect(cfg.limits.maxFrameBytes).toBe(2048);
    expect(cfg.limits.shutdownGraceMs).toBe(100);
    expect(cfg.log.dir).toBe("/tmp/x");
    expect(cfg.log.segments).toBe(3);
  });

  test("an unreadable or malformed file is one ConfigError naming it", () => {
    const missing = path.join(dir, "nope.json");
    expect(problemsOf({ CONFIG_FILE: missing })[0]).toContain(missing);
    const broken = writeJson("broken.json", "{ not json");
    expect(problemsOf({ CONFIG_FILE: broken })[0]).toContain("CONFIG_FILE");
  });

  test("wrongly typed file values are named by their path", () => {
    const file = writeJson("typed.json", { port: "eighty", limits: { maxFrameBytes: true }, streams: { public: [1, 2] }, auth: { jwt: { secret: 42 } } });
    const problems = problemsOf({ CONFIG_FILE: file });
    expect(problems.some((p) => p.includes("PORT (port)"))).toBe(true);
    expect(problems.some((p) => p.includes("limits.maxFrameBytes"))).toBe(true);
    expect(problems.some((p) => p.includes("streams.public"))).toBe(true);
    expect(problems.some((p) => p.includes("auth.jwt.secret"))).toBe(true);
  });

  test("sources and bindings must be arrays of valid definitions", () => {
    expect(problemsOf({ CONFIG_FILE: writeJson("src1.json", { sources: "kafka" }) }).join()).toContain("sources");
    const problems = problemsOf({ CONFIG_FILE: writeJson("src2.json", { sources: [{ name: "k", kind: "kafka" }, { name: "x", kind: "mqtt" }] }) });
    expect(problems.some((p) => p.startsWith("sources[0]") && p.includes("brokers"))).toBe(true);
    expect(problems.some((p) => p.startsWith("sources[1]") && p.includes("kind"))).toBe(true);
  });

  test("rabbitmq sources: url, exchange, mode and its queues or stream are checked", () => {
    const ok = { name: "r", kind: "rabbitmq", url: "amqp://127.0.0.1:5672", exchange: "events" };
    expect(validateSourceDefs([{ ...ok, mode: "queue" }])).toEqual([]);
    expect(validateSourceDefs([{ ...ok, mode: "queue", queues: [{ name: "public", routingKeys: ["public.#"] }, { name: "private", routingKeys: ["private.*.order"] }] }])).toEqual([]);
    expect(validateSourceDefs([{ ...ok, mode: "stream", stream: { name: "events", routingKeys: ["public.#", "private.#"], maxAge: "7D" }, from: "first" }])).toEqual([]);
    const bad = validateSourceDefs([
      { name: "a", kind: "rabbitmq", url: "http://x", exchange: "" , mode: "queue" },
      { ...ok, name: "b", mode: "stream" },
      { ...ok, name: "c", mode: "queue", queues: [{ name: "q", routingKeys: ["public..x"] }, { name: "q", routingKeys: [] }] },
      { ...ok, name: "d", mode: "fanout" },
      { ...ok, name: "e", mode: "stream", stream: { name: "s", routingKeys: ["#"], maxAge: "forever" }, from: "last", prefetch: 0 },
    ]);
    for (const [where, what] of [
      ["sources[0]", "url"], ["sources[0]", "exchange"], ["sources[1]", "stream {name, routingKeys}"],
      ["sources[2].queues[0].routingKeys[0]", "topic pattern"], ["sources[2].queues[1]", "duplicate"], ["sources[2].queues[1]", "non-empty"],
      ["sources[3]", "mode"], ["sources[4].stream", "maxAge"], ["sources[4]", "from"], ["sources[4]", "prefetch"],
    ]) expect(bad.some((p) => p.startsWith(where!) && p.includes(what!))).toBe(true);
  });
});

describe("validation: one ConfigError listing every problem", () => {
  test("the token expiry grace defaults to the clock tolerance and may not be shorter", () => {
    expect(loadConfig({ JWT_SECRET: "s" }).auth.expiryGraceSec).toBe(5);
    expect(loadConfig({ JWT_SECRET: "s", JWT_CLOCK_TOLERANCE_SEC: "0", TOKEN_EXPIRY_GRACE_SEC: "1" }).auth.expiryGraceSec).toBe(1);
    const problems = problemsOf({ JWT_SECRET: "s", JWT_CLOCK_TOLERANCE_SEC: "10", TOKEN_EXPIRY_GRACE_SEC: "3" });
    expect(problems).toEqual(["TOKEN_EXPIRY_GRACE_SEC (3) must be at least JWT_CLOCK_TOLERANCE_SEC (10)"]);
  });

  test("several bad values are all reported at once", () => {
    const problems = problemsOf({
      PORT: "http",
      MAX_FRAME_BYTES: "10",
      CLIENT_MESSAGES_PER_SEC: "-1",
      SEND_BUFFER_BYTES: "16384.5",
      SIMULATOR: "maybe",
      LOG_LEVEL: "verbose",
      LOG_SEGMENTS: "1",
      JWT_ALGORITHMS: "HS256,none",
    });
    const expectProblem = (name: string, what: string) => expect(problems.some((p) => p.startsWith(name) && p.includes(what))).toBe(true);
    expectProblem("PORT", '"http"');
    expectProblem("MAX_FRAME_BYTES", "[128, 16777216]");
    expectProblem("CLIENT_MESSAGES_PER_SEC", "-1");
    expectProblem("SEND_BUFFER_BYTES", "whole number");
    expectProblem("SIMULATOR", "true/false");
    expectProblem("LOG_LEVEL", "debug, info, warn, error");
    expectProblem("LOG_SEGMENTS", "[2, 1024]");
    expectProblem("JWT_ALGORITHMS", '"none"');
    expect(problems.length).toBe(8);
  });

  test.each([
    ["PORT", "65536"],
    ["PORT", "-1"],
    ["IDLE_TIMEOUT_SEC", "1"],
    ["MAX_STREAMS_PER_CONNECTION", "0"],
    ["LOG_MAX_EVENTS", "0"],
    ["LOG_SEGMENT_BYTES", "1024"],
    ["SHUTDOWN_GRACE_MS", "abc"],
    ["ALLOW_ANONYMOUS", "2"],
    ["JWT_CLOCK_TOLERANCE_SEC", "3600"],
    ["REPLAY_STALL_MS", "5"],
    ["MAX_PAYLOAD_DEPTH", "0"],
    ["LOG_MAX_STREAMS", "0"],
    ["REPLAY_STALL_MS", "abc"],
  ])("%s=%s is refused", (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems.length).toBe(1);
    expect(problems[0]).toStartWith(name);
    expect(problems[0]).toContain(value);
  });

  test("stream patterns must look like kind.* or kind.name", () => {
    const problems = problemsOf({ PUBLIC_STREAMS: "trades.*,bad pattern,status,a.b.c,depth.*.x", PRIVATE_STREAMS: "orders.*,*.x" });
    expect(problems).toEqual([
      expect.stringContaining('"bad pattern"'),
      // A bare kind would act as kind.*, and a third segment would be ignored: both are refused.
      expect.stringContaining('"status"'),
      expect.stringContaining('"a.b.c"'),
      expect.stringContaining('"depth.*.x"'),
      expect.stringContaining('"*.x"'),
    ]);
    // Exact names may use what stream names may (e.g. ':' or '@').
    expect(loadConfig({ PUBLIC_STREAMS: "status.global,index.btc:usd,news.*" }).streams.public).toEqual(["status.global", "index.btc:usd", "news.*"]);
  });

  test("JWT_PUBLIC_KEY that is neither a PEM nor a readable file", () => {
    const problems = problemsOf({ JWT_PUBLIC_KEY: path.join(dir, "missing.pem") });
    expect(problems.some((p) => p.startsWith("JWT_PUBLIC_KEY"))).toBe(true);
    // With no other way in, that is also reported.
    expect(problems.some((p) => p.startsWith("no way to authenticate"))).toBe(true);
  });

  test("JWT_PUBLIC_KEY whose PEM is not a valid public key", () => {
    const problems = problemsOf({ JWT_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n" });
    expect(problems.some((p) => p.startsWith("JWT_PUBLIC_KEY"))).toBe(true);
  });

  test("API_KEYS_FILE that is missing or malformed", () => {
    const missing = path.join(dir, "no-keys.json");
    expect(problemsOf({ API_KEYS_FILE: missing }).some((p) => p.startsWith("API_KEYS_FILE") && p.includes(missing))).toBe(true);
    const notArray = writeJson("keys-obj.json", { sha256: "x" });
    expect(problemsOf({ API_KEYS_FILE: notArray }).some((p) => p.startsWith("API_KEYS_FILE"))).toBe(true);
    const badHash = writeJson("keys-bad.json", [{ sha256: "abc", userId: "u" }]);
    expect(problemsOf({ API_KEYS_FILE: badHash }).some((p) => p.startsWith("API_KEYS_FILE") && p.includes("sha256"))).toBe(true);
    const good = writeJson("keys-good.json", [{ sha256: "a".repeat(64), userId: "u" }]);
    expect(loadConfig({ API_KEYS_FILE: good }).auth.apiKeysFile).toBe(good);
  });
});

test("redactConfig hides the secrets", () => {
  const cfg = loadConfig({ JWT_SECRET: "very-secret-value", ADMIN_TOKEN: "admin-secret-value" });
  const text = JSON.stringify(redactConfig(cfg));
  expect(text).not.toContain("very-secret-value");
  expect(text).not.toContain("admin-secret-value");
  expect(text).toContain("[redacted]");
});

describe("main", () => {
  test("exits 2 with a clear message listing the problems", async () => {
    const r = await runMain({ PORT: "http", LOG_LEVEL: "loud", LOG_DIR: path.join(dir, "main-log") });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("invalid configuration");
    expect(r.stderr).toContain('PORT (port): expected a number in [0, 65535], got "http"');
    expect(r.stderr).toContain("LOG_LEVEL");
    // No stack trace: a message meant for an operator.
    expect(r.stderr).not.toContain("    at ");
    expect(r.stdout).not.toContain("gateway_started");
  }, 15_000);

  test("a missing API_KEYS_FILE is a configuration error too (exit 2, not a crash)", async () => {
    const r = await runMain({ API_KEYS_FILE: path.join(dir, "absent-keys.json"), SIMULATOR: "0", PORT: "0", LOG_DIR: path.join(dir, "main-log2") });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("API_KEYS_FILE");
    expect(r.stderr).not.toContain("    at ");
  }, 15_000);
});
