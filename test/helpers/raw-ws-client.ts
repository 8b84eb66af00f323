import type { DataFrame, Frame } from "./test-client.ts";

/**
 * A WebSocket client written by hand over `Bun.connect`: it does the handshake itself, so the test
 * sees the HTTP answer as sent, and it can `pause()` reading so the kernel buffers and then the
 * gateway's send buffer fill up (a slow consumer). Frames are parsed only while reading.
 */
export class RawWsClient {
  status = 0;
  responseHeaders: Record<string, string> = {};
  /** Text frames parsed as JSON. */
  readonly frames: Frame[] = [];
  closeFrame?: { code: number; reason: string };
  socketClosed = false;
  bytesRead = 0;
  private buf = Buffer.alloc(0);
  private handshaken = false;
  private handshakeDone!: () => void;
  private handshakeFailed!: (e: Error) => void;
  private socket!: Awaited<ReturnType<typeof Bun.connect>>;

  private constructor() {}

  /** Connects and performs the upgrade of `path` with extra `headers`; resolves after the 101. */
  static async connect(port: number, path = "/ws", headers: Record<string, string> = {}): Promise<RawWsClient> {
    const c = new RawWsClient();
    const done = new Promise<void>((resolve, reject) => {
      c.handshakeDone = resolve;
      c.handshakeFailed = reject;
    });
    c.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_s, d) => c.onData(d),
        close: () => {
          c.socketClosed = true;
          c.handshakeFailed(new Error("socket closed during handshake"));
        },
        error: (_s, e) => c.handshakeFailed(e),
      },
    });
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
    const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${key}`, "Sec-WebSocket-Version: 13"];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    c.socket.write(lines.join("\r\n") + "\r\n\r\n");
    await done;
    if (c.status !== 101) throw new Error(`upgrade refused with HTTP ${c.status}`);
    return c;
  }

  private onData(d: Uint8Array): void {
    this.bytesRead += d.length;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : Buffer.from(d);
    if (!this.handshaken) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString("latin1").split("\r\n");
      this.status = Number(head[0]!.split(" ")[1]);
      for (const h of head.slice(1)) {
        const i = h.indexOf(":");
        if (i > 0) this.responseHeaders[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
      }
      this.buf = this.buf.subarray(end + 4);
      this.handshaken = true;
      this.handshakeDone();
    }
    this.parseFrames();
  }

  private parseFrames(): void {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) return;
      const op = b[0]! & 0x0f;
      const payload = b.subarray(off, off + len);
      this.buf = b.subarray(off + len);
      if (op === 0x1) this.frames.push(JSON.parse(payload.toString("utf8")) as Frame);
      else if (op === 0x8) {
        this.closeFrame = { code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString("utf8") };
      } else if (op === 0x9) this.writeFrame(0xa, payload);
    }
  }

  private writeFrame(opcode: number, payload: Uint8Array): void {
    if (this.socketClosed) return;
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n]) : n < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, n >> 8, n & 0xff]) : (() => {
      const h = Buffer.alloc(10);
      h[0] = 0x80 | opcode;
      h[1] = 0x80 | 127;
      h.writeBigUInt64BE(BigInt(n), 2);
      return h;
    })();
    const masked = Buffer.alloc(n);
    for (let i = 0; i < n; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
    this.socket.write(Buffer.concat([head, mask, masked]));
  }

  /** Sends a JSON text frame. */
  send(msg: unknown): void {
    this.writeFrame(0x1, Buffer.from(JSON.stringify(msg)));
  }

  /** Stops reading from the socket: the kernel buffers fill, then the gateway's send buffer. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Data frames of `stream` received so far. */
  data(stream: string): DataFrame[] {
    return this.frames.filter((f) => f.stream === stream && typeof f.seq === "number") as DataFrame[];
  }

  /** Drops the TCP connection. */
  destroy(): void {
    this.socket.end();
  }
}
