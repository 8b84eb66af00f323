import type { WireFormat } from "../../protocol/wire.ts";

/**
 * The gateway's view of one client socket. The session logic talks to this, not to Bun's
 * ServerWebSocket, so it can be tested with a fake.
 */
export interface Connection {
  /** Sends one frame; returns bytes sent, -1 when queued under backpressure, 0 when dropped. */
  send(frame: string | Uint8Array): number;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Sends a close frame after whatever is queued. */
  close(code: number, reason: string): void;
  /** Bytes queued for this client and not yet written to the kernel. */
  bufferedAmount(): number;
}


/** Bun topic carrying `stream` frames in `format`; one topic per format so each frame is encoded once. */
export function topicFor(stream: string, format: WireFormat): string {
  return (format === "json" ? "j:" : "f:") + stream;
}
