/**
 * Typed client of the CEX WebSocket gateway, for browsers, Bun and Node.
 *
 *   import { GatewayClient } from "./clients/ts/index.ts";
 *   const client = new GatewayClient({ url: "ws://localhost:8080/ws", format: "fb", token });
 *   client.subscribe("ticker.btc_usdt", (f) => console.log(f.seq, f.data.price)); // TickerData
 *   client.on("state", (s) => console.log("connection", s));
 *   client.connect();
 *
 * See clients/README.md.
 */
export {
  GatewayClient,
  GatewayClientError,
  PROTOCOL_FB,
  PROTOCOL_JSON,
  type ClientErrorKind,
  type ClientEvents,
  type ClientStats,
  type CloseInfo,
  type ConnectionState,
  type FrameHandler,
  type GapInfo,
  type GatewayClientOptions,
  type StateInfo,
  type Subscription,
  type TokenRequest,
  type WebSocketCtor,
} from "./client.ts";
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.ts";
export { decodeFrameFb, decodeFrameJson, decodeMessage, readDataFrameTimesFb, type Decoded } from "./codec.ts";
export { Emitter } from "./emitter.ts";
export * from "./types.ts";
