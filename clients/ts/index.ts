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
export { GatewayClient } from "./client.ts";
export { GatewayClientError, type ClientErrorKind } from "./client-error.ts";
export type { BookResyncInfo } from "./book-keeper.ts";
export { OrderBook } from "../../protocol/book/order-book.ts";
export type { BookSubscription, ClientEvents, ClientStats, CloseInfo, ConnectionState, FrameHandler, GapInfo, StateInfo, Subscription } from "./client-events.ts";
export type { GatewayClientOptions, TokenRequest, WebSocketCtor } from "./client-options.ts";
export { PROTOCOL_FB, PROTOCOL_JSON } from "./socket.ts";
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.ts";
export { decodeFrameFb, decodeFrameJson, decodeMessage, readDataFrameTimesFb, type Decoded } from "./codec.ts";
export { Emitter } from "./emitter.ts";
export * from "./types.ts";
