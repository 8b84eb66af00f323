/**
 * docs/asyncapi.yaml against the real thing: the official parser accepts it, and a real exchange
 * with a running gateway (JSON and FlatBuffers) produces every server frame it documents, each
 * validating against exactly one documented schema; every client request sent validates against
 * its documented schema; error codes and close codes match protocol/.
 */
import { Parser, type AsyncAPIDocumentInterface } from "@asyncapi/parser";
import Ajv, { type ValidateFunction } from "ajv";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { CLOSE } from "../../protocol/close-codes.ts";
import { ERROR_CODES } from "../../protocol/error-codes.ts";
import { decodeFrameFb } from "../../protocol/fb/decoder.ts";
import { PROTOCOL_FB } from "../../protocol/wire.ts";
import { TestClient, startGateway, tokenFor, until, type Frame, type TestGateway } from "../helpers/gateway-harness.ts";

const SPEC = join(import.meta.dir, "../../docs/asyncapi.yaml");

interface Message {
  id: string;
  validate: ValidateFunction;
}

let doc: AsyncAPIDocumentInterface;
let sent: Message[] = [];
let received: Message[] = [];
let gw: TestGateway;

beforeAll(async () => {
  const { document, diagnostics } = await new Parser().parse(await Bun.file(SPEC).text());
  // Severity 0 = error, 1 = warning (2 and 3 are hints such as "a newer AsyncAPI exists").
  expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.path.join(".")}: ${d.message}`)).toEqual([]);
  expect(document).toBeDefined();
  doc = document!;
  const ajv = new Ajv({ allErrors: true });
  ajv.addKeyword("x-parser-schema-id");
  const compileAll = (messages: Iterable<{ id(): string; payload(): { json(): unknown } | undefined }>) => {
    const out = new Map<string, Message>();
    for (const m of messages) out.set(m.id(), { id: m.id(), validate: ajv.compile(m.payload()!.json() as object) });
    return [...out.values()];
  };
  // The gateway receives the requests; it sends its own frames and the replies to requests.
  const ops = doc.operations().all();
  received = compileAll(ops.filter((o) => o.action() === "receive").flatMap((o) => o.messages().all()));
  sent = compileAll(ops.flatMap((o) => (o.action() === "send" ? o.messages().all() : (o.reply()?.messages().all() ?? []))));
  gw = await startGateway({ LOG_DIR: "", LOG_MAX_EVENTS: "20", MAX_STREAMS_PER_CONNECTION: "8", CLIENT_MESSAGES_PER_SEC: "20", CLIENT_MESSAGE_BURST: "30", MAX_RATE_VIOLATIONS: "1000" });
});
afterAll(() => gw?.stop());

/** The documented server message each frame matches: exactly one, or the test fails. */
function classify(frame: unknown): string {
  const hits = sent.filter((m) => m.validate(frame)).map((m) => m.id);
  if (hits.length !== 1) {
    const why = sent.map((m) => (m.validate(frame), `${m.id}: ${JSON.stringify(m.validate.errors?.slice(0, 2))}`)).join("\n");
    throw new Error(`frame ${JSON.stringify(frame).slice(0, 300)} matches ${hits.length} documented messages (${hits.join(", ")})\n${why}`);
  }
  return hits[0]!;
}

/** Sends a request after checking it against the documented request schemas. */
function request(c: TestClient, req: Record<string, unknown>): void {
  const hits = received.filter((m) => m.validate(req)).map((m) => m.id);
  expect(hits, JSON.stringify(req)).toHaveLength(1);
  c.send(req);
}

const trade = (i: number) => ({ id: i, price: "65000.5", qty: "0.01", side: i % 2 ? "buy" : "sell", timestamp: Date.now() });

describe("docs/asyncapi.yaml", () => {
  test("documents every error code and close code that protocol/ defines", () => {
    const codes = (doc.components().schemas().get("ErrorCode")!.json() as { enum: string[] }).enum;
    expect([...codes].sort()).toEqual([...ERROR_CODES].sort());
    const closes = doc.info().extensions().get("x-close-codes")!.value() as { code: number; reason: string; reconnect: boolean }[];
    const expected = Object.values(CLOSE).map((c) => ({ code: c.code, reason: c.reason, reconnect: c.reconnect }));
    expect([...closes].sort((a, b) => a.code - b.code)).toEqual(expected.sort((a, b) => a.code - b.code));
  });

  for (const format of ["json", "fb"] as const) {
    test(`a real exchange (${format}) produces every documented server frame, each matching its schema`, async () => {
      const S = `trades.contract_${format}`;
      const token = await tokenFor("user1");
      const opts = format === "fb" ? { token, protocols: [PROTOCOL_FB] } : { token };
      const c = await TestClient.connect(gw.wsUrl(), opts);
      const frames = (): Frame[] => (format === "fb" ? c.binary.map((b) => decodeFrameFb(b) as Frame) : c.frames);
      const waitFrame = (pred: (f: Frame) => boolean) => until(() => frames().some(pred), 5000, "frame never came");
      const seqs = gw.publish([{ stream: S, data: trade(0) }, { stream: S, data: trade(1) }]);

      request(c, { action: "subscribe", streams: [S, "orders.user1"], id: 1 });
      await waitFrame((f) => f.event === "subscribed" && f.id === 1);
      gw.publish([{ stream: S, data: trade(2) }]);
      await waitFrame((f) => f.stream === S);
      request(c, { action: "list", id: 2 });
      request(c, { action: "ping", id: "p-3" });
      request(c, { action: "resume", positions: { [S]: seqs[0]! }, id: 4 });
      await waitFrame((f) => f.event === "resumed" && f.id === 4);
      request(c, { action: "resume", streams: [S], lastSequence: seqs[1]!, id: 5 });
      await waitFrame((f) => f.event === "resumed" && f.id === 5);
      request(c, { action: "unsubscribe", streams: ["orders.user1"], id: 6 });
      // Refusals: another user's private stream, a stream outside every pattern, an unknown action,
      // a malformed request, too many streams, a position the log no longer holds.
      request(c, { action: "subscribe", streams: ["orders.user2"], id: 7 });
      request(c, { action: "subscribe", streams: ["nope.x"], id: 8 });
      c.send({ action: "dance", id: 9 });
      c.send({ action: "subscribe", streams: "not-a-list", id: 10 });
      request(c, { action: "subscribe", streams: Array.from({ length: 9 }, (_, i) => `ticker.many_${i}`), id: 11 });
      gw.publish(Array.from({ length: 40 }, (_, i) => ({ stream: S, data: trade(10 + i) })));
      request(c, { action: "resume", positions: { [S]: seqs[0]! }, id: 12 });
      await waitFrame((f) => f.event === "error" && f.id === 12);
      // Token refresh: accepted, refused (another user), then narrowed (pairs) so S ends unasked.
      request(c, { action: "auth", token: await tokenFor("user1"), id: 13 });
      request(c, { action: "auth", token: await tokenFor("user2"), id: 14 });
      await waitFrame((f) => f.event === "error" && f.id === 14);
      request(c, { action: "auth", token: await tokenFor("user1", { pairs: ["btc_usdt"] }), id: 15 });
      await waitFrame((f) => f.event === "authenticated" && f.id === 15);
      // Requests past the rate limit.
      for (let i = 0; i < 60; i++) c.send({ action: "ping", id: 100 + i });
      await waitFrame((f) => f.event === "error" && f.code === "rate_limited");
      await waitFrame((f) => f.event === "unsubscribed" && f.id === 6);
      c.close();
      expect(frames().some((f) => f.event === "unsubscribed" && f.reason === "forbidden" && f.streams?.includes(S) && f.id === undefined)).toBe(true);

      const kinds = new Map<string, number>();
      for (const f of frames()) kinds.set(classify(f), (kinds.get(classify(f)) ?? 0) + 1);
      expect([...kinds.keys()].sort()).toEqual(sent.map((m) => m.id).sort());
      const codes = new Set(frames().filter((f) => f.event === "error").map((f) => f.code as string));
      for (const code of ["forbidden", "unknown_stream", "unknown_action", "bad_request", "too_many_streams", "resume_unavailable", "invalid_token", "rate_limited"]) expect(codes.has(code), code).toBe(true);
    });
  }

  test("the schemas are not vacuous: undocumented frames and requests match nothing", () => {
    for (const f of [{ event: "subscribed" }, { event: "kicked", streams: [] }, { stream: "trades.x", seq: 1, prev: 0, data: {}, extra: 1 }, { event: "error", code: "nope", message: "" }]) {
      expect(sent.filter((m) => m.validate(f)).map((m) => m.id), JSON.stringify(f)).toEqual([]);
    }
    for (const r of [{ action: "subscribe", streams: [] }, { action: "resume" }, { action: "dance" }, { action: "ping", id: {} }]) {
      expect(received.filter((m) => m.validate(r)).map((m) => m.id), JSON.stringify(r)).toEqual([]);
    }
  });

  test("every documented request example validates against its own schema", () => {
    let n = 0;
    for (const m of doc.allMessages()) {
      for (const ex of m.examples()) {
        const payload = ex.payload();
        const own = [...sent, ...received].find((x) => x.id === m.id())!;
        expect(own.validate(payload), `${m.id()} example: ${JSON.stringify(own.validate.errors)}`).toBe(true);
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(8);
  });
});
