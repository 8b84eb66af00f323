/**
 * An in-memory WebSocket for client unit tests: the test plays the server (open, message, close)
 * and reads what the client sent. Passed to GatewayClient as `options.WebSocket`.
 */
export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  static reset(): void {
    FakeWebSocket.instances = [];
  }
  static get last(): FakeWebSocket {
    const ws = FakeWebSocket.instances.at(-1);
    if (!ws) throw new Error("no FakeWebSocket opened");
    return ws;
  }

  readyState = 0;
  binaryType = "blob";
  readonly sent: Record<string, unknown>[] = [];
  closedWith?: { code?: number; reason?: string };
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols: string | string[] = [],
  ) {
    FakeWebSocket.instances.push(this);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("not open");
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // ---- the server's side ----

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** Delivers a frame: a string (JSON) or bytes (FlatBuffers, as an ArrayBuffer like a browser). */
  deliver(frame: string | Uint8Array | object): void {
    let data: unknown;
    if (typeof frame === "string") data = frame;
    else if (frame instanceof Uint8Array) data = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength);
    else data = JSON.stringify(frame);
    this.onmessage?.({ data });
  }

  serverClose(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** Requests the client sent with this action. */
  requests(action: string): Record<string, unknown>[] {
    return this.sent.filter((m) => m.action === action);
  }
}
