import type { ServerWebSocket } from "bun";
import { CLOSE, closeLabel } from "../../protocol/close-codes.ts";
import { encodeControlFb } from "../codec/flatbuffers-codec.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { Logger } from "../util/logger.ts";
import { BunConnection } from "./bun-connection.ts";
import { Session, type SessionContext } from "./session.ts";
import type { SessionRegistry } from "./session-registry.ts";
import type { UpgradeData } from "./upgrade.ts";

/** Bun's WebSocket callbacks: a Session per socket, requests handed to it, bookkeeping on close. */
export class SocketHandler {
  constructor(
    private readonly sessions: SessionRegistry,
    private readonly ctx: SessionContext,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {}

  open(ws: ServerWebSocket<UpgradeData>): void {
    const d = ws.data;
    if (d.retiredSchema !== undefined) {
      // A schema v1 reader cannot decode our frames: tell it, in a frame it can read, and close.
      const message = "this gateway sends FlatBuffers schema v2 (subprotocol cex.v2.fb); this client reads schema v1: upgrade it, or use cex.v1.json";
      ws.send(encodeControlFb({ event: "error", code: "unsupported_version", message }, 1));
      ws.close(CLOSE.normal.code, "unsupported schema v1: use cex.v2.fb");
      this.metrics.upgradesRejected.inc({ reason: "schema_v1" });
      return;
    }
    const session = new Session(new BunConnection(ws), { id: this.sessions.newId(), identity: d.identity, format: d.format, remoteAddress: d.ip }, this.ctx);
    d.session = session;
    this.sessions.add(session);
    this.metrics.connections.set(this.sessions.size);
    this.metrics.connectionsOpened.inc({ auth: d.identity.via });
    this.log.info("connection_open", { conn: session.id, user: d.identity.userId, via: d.identity.via, ip: d.ip, format: d.format });
  }

  message(ws: ServerWebSocket<UpgradeData>, msg: string | Buffer): void {
    const session = ws.data.session;
    if (!session) return;
    try {
      session.handleMessage(typeof msg === "string" ? msg : new Uint8Array(msg));
    } catch (err) {
      // A bug in handling one request costs that client its connection, never the process.
      this.log.error("request_failed", { conn: session.id, user: session.identity.userId, error: (err as Error).message, stack: (err as Error).stack?.split("\n").slice(0, 4).join(" | ") });
      session.sendError("internal", "internal error", undefined);
      session.close(CLOSE.internal);
    }
  }

  close(ws: ServerWebSocket<UpgradeData>, code: number, reason: string): void {
    const session = ws.data.session;
    if (!session) return;
    session.onClosed();
    this.sessions.remove(session);
    this.metrics.connections.set(this.sessions.size);
    const label = closeLabel(code);
    this.metrics.connectionsClosed.inc({ code: String(code), reason: label });
    this.log.info("connection_closed", { conn: session.id, user: session.identity.userId, code, reason: reason.slice(0, 80), ms: Date.now() - session.openedAt });
  }
}
