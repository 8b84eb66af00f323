/**
 * Test harness of the gateway tests: an in-process Gateway on an ephemeral port, the gateway as a
 * child process (`bun src/main.ts`) for restart / kill -9 / SIGTERM tests, JWT minting, a
 * WebSocket TestClient that collects frames, and a raw TCP WebSocket client (RawWsClient) that can
 * stop reading, for slow-consumer tests.
 *
 * Every gateway gets its own temp LOG_DIR; `stop()` removes it. Nothing here talks to the network
 * beyond 127.0.0.1.
 */
export * from "./child-gateway.ts";
export * from "./credentials.ts";
export * from "./event-flow.ts";
export * from "./gateway-http.ts";
export * from "./in-process-gateway.ts";
export * from "./raw-ws-client.ts";
export * from "./test-client.ts";
export * from "./test-env.ts";
export * from "./until.ts";
