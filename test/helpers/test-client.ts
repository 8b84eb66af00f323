/** TestClient: a real (Bun) WebSocket client that records every frame, for gateway tests. */

/** A frame as received: JSON text parsed, binary kept as bytes. */
export type Frame = Record<string, any>;

/** A data frame `{stream, seq, prev, data}`. */
export interface DataFrame {
  stream: string;
  seq: number;
  prev: number;
  data: any;
}

/** How TestClient.connect opens its connection. */
export interface ConnectOptions {
  /** Sent as `Authorization: Bearer`. */
  token?: string;
  headers?: Record<string, string>;
  protocols?: string[];
  query?: Record<string, string>;
  /** How long to wait for the open. Default 5000 ms. */
  timeoutMs?: number;
}

interface Waiter {
  pred: (f: Frame) => boolean;
  from: number;
  resolve: (f: Frame) => void;
}

/**
 * A real WebSocket client (Bun's) that records every frame in arrival order. `waitFor` resolves
 * with the first frame (from an index on) that matches, `request` sends with an id and waits for
 * the answer carrying it.
 */
export class TestClient {
  readonly frames: Frame[] = [];
  /** Binary frames received (the JSON format never sends any). */
  readonly binary: Uint8Array[] = [];
  closeEvent?: { code: number; reason: string };
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Waiter[] = [];
  private nextId = 1;
  private resolveClosed!: (c: { code: number; reason: string }) => void;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (e) => this.onMessage(e.data));
    ws.addEventListener("close", (e) => {
      this.closeEvent = { code: e.code, reason: e.reason };
      this.resolveClosed(this.closeEvent);
    });
  }

  /** Opens a connection to `url`; rejects when the upgrade is refused or times out. */
  static connect(url: string, o: ConnectOptions = {}): Promise<TestClient> {
    const u = o.query ? `${url}${url.includes("?") ? "&" : "?"}${new URLSearchParams(o.query).toString()}` : url;
    const headers = { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers };
    const options: Bun.WebSocketOptions = { headers, protocols: o.protocols };
    // lib.dom's WebSocket constructor type hides Bun's (url, options) overload.
    const ws = new WebSocket(u, options as unknown as string[]);
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`connect to ${url} timed out`));
      }, o.timeoutMs ?? 5000);
      ws.addEventListener("open", () => {
        clearTimeout(timer);
        resolve(client);
      });
      ws.addEventListener("close", (e) => {
        clearTimeout(timer);
        reject(new Error(`connection refused or closed before open (code ${e.code})`));
      });
      ws.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new Error("connection failed"));
      });
    });
  }

  /** The subprotocol the server selected. */
  get protocol(): string {
    return this.ws.protocol;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  private onMessage(data: unknown): void {
    let f: Frame;
    if (typeof data === "string") {
      f = JSON.parse(data) as Frame;
    } else {
      const bytes = new Uint8Array(data as ArrayBuffer);
      this.binary.push(bytes);
      f = { binary: bytes };
    }
    const idx = this.frames.length;
    this.frames.push(f);
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (idx >= w.from && w.pred(f)) w.resolve(f);
      else still.push(w);
    }
    this.waiters = still;
  }

  /** Sends a JSON object (or a raw string / bytes as is). */
  send(msg: unknown): void {
    if (typeof msg === "string" || msg instanceof Uint8Array) this.ws.send(msg);
    else this.ws.send(JSON.stringify(msg));
  }

  /** The first frame from index `from` on matching `pred`, already received or yet to come. */
  waitFor(pred: (f: Frame) => boolean, timeoutMs = 5000, from = 0): Promise<Frame> {
    for (let i = from; i < this.frames.length; i++) if (pred(this.frames[i]!)) return Promise.resolve(this.frames[i]!);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        from,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        const tail = this.frames.slice(-5).map((f) => JSON.stringify(f).slice(0, 200));
        reject(new Error(`waitFor timed out after ${timeoutMs} ms; ${this.frames.length} frames, last: ${tail.join(" | ")}; close: ${JSON.stringify(this.closeEvent)}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Sends `msg` with a fresh id and resolves with the first answer carrying that id. */
  async request(msg: Record<string, unknown>, timeoutMs = 5000): Promise<Frame> {
    const id = this.nextId++;
    const from = this.frames.length;
    this.send({ ...msg, id });
    return this.waitFor((f) => f.id === id, timeoutMs, from);
  }

  /** Every answer with `id` received so far. */
  answers(id: string | number): Frame[] {
    return this.frames.filter((f) => f.id === id);
  }

  /** Subscribes and resolves with the `subscribed` answer (throws on an error answer). */
  async subscribe(streams: string[], timeoutMs = 5000): Promise<Frame> {
    const id = this.nextId++;
    const from = this.frames.length;
    this.send({ action: "subscribe", streams, id });
    const f = await this.waitFor((x) => x.id === id, timeoutMs, from);
    if (f.event !== "subscribed") throw new Error(`subscribe refused: ${JSON.stringify(f)}`);
    return f;
  }

  /** Data frames received, optionally of one stream. */
  data(stream?: string): DataFrame[] {
    return this.frames.filter((f) => typeof f.seq === "number" && (stream === undefined || f.stream === stream)) as DataFrame[];
  }

  /** Seqs received of `stream`, in arrival order. */
  seqs(stream: string): number[] {
    return this.data(stream).map((f) => f.seq);
  }

  /** Highest seq received of `stream`, or 0. */
  lastSeq(stream: string): number {
    const d = this.data(stream);
    return d.length ? d[d.length - 1]!.seq : 0;
  }

  /** Waits until a data frame of `stream` with seq >= `seq` arrived. */
  waitForSeq(stream: string, seq: number, timeoutMs = 5000): Promise<Frame> {
    return this.waitFor((f) => f.stream === stream && typeof f.seq === "number" && f.seq >= seq, timeoutMs);
  }

  /** Errors received. */
  errors(code?: string): Frame[] {
    return this.frames.filter((f) => f.event === "error" && (code === undefined || f.code === code));
  }

  /** Closes (normal) and waits for the close to complete. */
  async close(code = 1000): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(code);
    await Promise.race([this.closed, Bun.sleep(2000)]);
  }

  /** Waits for the close with a timeout; resolves with code and reason. */
  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const r = await Promise.race([this.closed, Bun.sleep(timeoutMs).then(() => undefined)]);
    if (!r) throw new Error(`not closed within ${timeoutMs} ms`);
    return r;
  }
}

/** Connects `n` clients (in parallel) with the same options. */
export function connectMany(url: string, n: number, o: ConnectOptions = {}): Promise<TestClient[]> {
  return Promise.all(Array.from({ length: n }, () => TestClient.connect(url, o)));
}

/** Closes every client, ignoring failures. */
export async function closeAll(clients: (TestClient | undefined)[]): Promise<void> {
  await Promise.allSettled(clients.map((c) => c?.close()));
}
