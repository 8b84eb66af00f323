/**
 * Signed private frames, end to end with a real Ed25519 key: the gateway signs every orders.<user>
 * frame in both formats over its exact stream, seq and data text; GET /realtime/keys publishes the
 * key by id; the typed client verifies, and a frame tampered with in transit is an error, never data.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync, verify, createPublicKey } from "node:crypto";
import { GatewayClient, type DataFrame, type Format, type GatewayClientError } from "../../clients/ts/index.ts";
import { decodeFrameFb } from "../../clients/ts/codec.ts";
import { signedMessage } from "../../protocol/signature.ts";
import { startGateway, TestClient, tokenFor, until, type TestGateway } from "../helpers/gateway-harness.ts";
import { lossyWebSocket } from "./helpers/lossy-ws.ts";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
let gw: TestGateway;
let token: string;

beforeAll(async () => {
  gw = await startGateway({ SIGNING_KEY: privateKey.export({ format: "pem", type: "pkcs8" }).toString(), SIGNING_KEY_ID: "k2026" });
  token = await tokenFor("sig_user");
});
afterAll(() => gw?.stop());

const order = (i: number) => ({ orderId: i, pair: "btc_usdt", side: "buy", type: "limit", status: "new", price: "1.5", qty: "2", filledQty: "0", timestamp: 1_700_000_000_000 + i });

test("GET /realtime/keys publishes the public key by its id", async () => {
  const body = (await (await fetch(gw.httpUrl("/realtime/keys"))).json()) as { keys: Record<string, string>[] };
  const x = (publicKey.export({ format: "jwk" }) as { x: string }).x;
  expect(body.keys).toEqual([{ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig", kid: "k2026", x }]);
});

test("JSON and FlatBuffers orders frames carry kid and an Ed25519 signature over stream, seq and the data text; public frames none", async () => {
  const json = await TestClient.connect(gw.wsUrl(), { token });
  const fb = await TestClient.connect(gw.wsUrl({ format: "fb" }), { token });
  await json.subscribe(["orders.sig_user", "ticker.btc_usdt"]);
  fb.send({ action: "subscribe", streams: ["orders.sig_user", "ticker.btc_usdt"], id: 1 });
  await until(() => fb.binary.length >= 1, 5000, "fb subscribed");
  const [seq] = gw.publish([{ stream: "orders.sig_user", data: order(1) }]);
  gw.publish([{ stream: "ticker.btc_usdt", data: { price: "1", volume: "1", high: "1", low: "1", change: "0", timestamp: 1 } }]);
  const frame = await json.waitForSeq("orders.sig_user", seq!);
  const text = JSON.stringify(frame); // JSON.parse/stringify keeps key order: kid and sig precede data
  expect(Object.keys(frame)).toEqual(["stream", "seq", "prev", "kid", "sig", "data"]);
  expect(frame.kid).toBe("k2026");
  const dataText = text.slice(text.indexOf(',"data":') + 8, -1);
  expect(verify(null, signedMessage("orders.sig_user", seq!, dataText), createPublicKey(publicKey.export({ format: "pem", type: "spki" })), Buffer.from(frame.sig, "base64url"))).toBe(true);
  // The binary frame carries the same signature over the same bytes.
  await until(() => fb.binary.length >= 3, 5000, "fb frames");
  const decoded = fb.binary.map((b) => decodeFrameFb(b) as DataFrame).find((f) => f.stream === "orders.sig_user" && f.seq === seq);
  expect(decoded).toEqual(frame as DataFrame);
  const ticker = await json.waitFor((f) => f.stream === "ticker.btc_usdt");
  expect(ticker.sig).toBeUndefined();
  await Promise.all([json.close(), fb.close()]);
});

for (const format of ["json", "fb"] as Format[]) {
  describe(`typed client, ${format}`, () => {
    test("verifies signed frames and delivers them in order", async () => {
      const stream = "orders.sig_user";
      const client = new GatewayClient({ url: gw.wsUrl(), format, token, requireSignatures: true });
      const errors: GatewayClientError[] = [];
      client.on("error", (e) => errors.push(e));
      const got: number[] = [];
      client.connect();
      await client.subscribe(stream, (f) => got.push((f.data as { orderId: number }).orderId)).ready;
      gw.publish(Array.from({ length: 5 }, (_, i) => ({ stream, data: order(100 + i) })));
      await until(() => got.length === 5, 5000, "5 orders");
      expect(got).toEqual([100, 101, 102, 103, 104]);
      expect(errors).toEqual([]);
      client.close();
    });

    test("a frame tampered with in transit is an error, never data; the stream recovers by resume", async () => {
      const stream = "orders.sig_user";
      const tamper = (data: unknown): unknown => {
        if (typeof data === "string") return data.includes('"orderId":202') ? data.replace('"price":"1.5"', '"price":"9.5"') : data;
        // The signed frame's data is RawJson: the same text, in place in the buffer.
        const copy = Buffer.from(new Uint8Array(data as ArrayBuffer));
        const i = copy.indexOf('"orderId":202');
        if (i < 0) return data;
        copy[copy.indexOf('"price":"1.5"', i) + 9] = "9".charCodeAt(0);
        return copy.buffer.slice(copy.byteOffset, copy.byteOffset + copy.length);
      };
      let tampered = 0;
      const client = new GatewayClient({
        url: gw.wsUrl(),
        format,
        token,
        WebSocket: lossyWebSocket(() => false, (d) => {
          const out = tamper(d);
          if (out !== d && tampered++ > 0) return d; // only the first copy: the replay arrives intact
          return out;
        }),
      });
      const errors: GatewayClientError[] = [];
      client.on("error", (e) => errors.push(e));
      const got: { orderId: number; price: string }[] = [];
      client.connect();
      await client.subscribe(stream, (f) => got.push(f.data as { orderId: number; price: string })).ready;
      gw.publish([200, 201, 202, 203].map((i) => ({ stream, data: order(i) })));
      await until(() => got.some((o) => o.orderId === 203), 5000, "order 203");
      expect(tampered).toBeGreaterThan(0);
      expect(errors.some((e) => e.kind === "signature" && e.message.includes("bad signature"))).toBe(true);
      // Nothing with the forged price was delivered; the gap left by the dropped frame was resumed.
      expect(got.every((o) => o.price === "1.5")).toBe(true);
      expect(got.map((o) => o.orderId).filter((id) => id >= 200)).toEqual([200, 201, 202, 203]);
      client.close();
    });
  });
}
