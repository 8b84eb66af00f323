import type { ServerWebSocket } from "bun";
import type { Connection } from "./connection.ts";

/** Connection over Bun's ServerWebSocket: the only place the core touches Bun's socket type. */
export class BunConnection implements Connection {
  constructor(private readonly ws: ServerWebSocket<unknown>) {}

  send(frame: string | Uint8Array): number {
    return this.ws.send(frame);
  }
  subscribe(topic: string): void {
    this.ws.subscribe(topic);
  }
  unsubscribe(topic: string): void {
    this.ws.unsubscribe(topic);
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
  bufferedAmount(): number {
    return this.ws.getBufferedAmount();
  }
}
