/**
 * RabbitMQ source over AMQP 0-9-1 (amqplib), in one of two modes (see src/config/rabbitmq-source-def.ts):
 * "queue" (each gateway's own exclusive, auto-delete queues; no positions, gateway-numbered) or
 * "stream" (a shared RabbitMQ stream read with `x-stream-offset`; position = stream offset + 1).
 *
 * The origin of a message is its routing key (`public.trades.btc_usdt`,
 * `private.<userId>.order`): bindings map it to a stream (match `private.*.order`, stream
 * template `orders.{origin.1}`).
 *
 * Batching: amqplib parses every frame of one socket read synchronously and emits a delivery per
 * message; they are collected and handed to the sink in one batch from a microtask right after,
 * so one read is one publish tick.
 *
 * Reconnect: the connection is re-made with backoff after any loss. Queue mode re-declares fresh
 * queues (what was published meanwhile is lost to this gateway: RabbitMQ queues do not replay).
 * Stream mode re-attaches at the offset after the last one delivered, so a broker restart loses
 * nothing the stream kept; anything at or below it is dropped as a redelivery.
 */
import { randomUUID } from "node:crypto";
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from "amqplib";
import type { BatchSink, Source, SourceHealth, SourceMessage } from "../source.ts";
import { Backoff, sleep } from "../backoff.ts";
import { SourceHealthTracker } from "../source-health.ts";
import { DEFAULT_QUEUES, type RabbitMqSourceConfig } from "../../config/rabbitmq-source-def.ts";
import { readStreamRange, streamOffsetOf, type StreamOffsetSpec } from "./rabbitmq-stream-reader.ts";

/** RabbitMQ (classic exclusive queues or a stream) implementation of {@link Source}. */
export class RabbitMqSource implements Source {
  readonly kind = "rabbitmq" as const;
  /** Stream mode only: queues cannot replay, so queue mode has no replay (resume uses the log). */
  readonly replay?: (origin: string, fromPosition: number, limit: number) => Promise<SourceMessage[]>;

  private readonly backoff = new Backoff({ initialMs: 100, maxMs: 5_000 });
  private readonly abort = new AbortController();
  private readonly stats = new SourceHealthTracker();
  private readonly prefetch: number;
  /** Broker-side queue names carry this, so an operator sees whose queue it is. */
  private readonly instance = randomUUID().slice(0, 8);
  private conn: ChannelModel | undefined;
  private sink: BatchSink | undefined;
  private pending: ConsumeMessage[] = [];
  private pendingChannel: Channel | undefined;
  private flushQueued = false;
  private connected = false;
  private everConnected = false;
  private started = false;
  private stopped = false;
  private stopPromise: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  /** Stream mode: offset of the last message delivered (-1: none yet). */
  private lastOffset = -1;
  /** Stream mode: when this source first attached, for a reconnect before any message (see attachSpec). */
  private firstAttachAt = 0;

  constructor(
    readonly name: string,
    private readonly config: RabbitMqSourceConfig,
  ) {
    if (config.mode === "stream" && !config.stream) throw new Error(`rabbitmq source ${name}: stream mode needs stream`);
    this.prefetch = config.prefetch ?? 2000;
    if (config.mode === "stream") this.replay = (origin, from, limit) => this.replayStream(origin, from, limit);
  }

  start(sink: BatchSink): Promise<void> {
    if (this.started || this.stopped) return Promise.reject(new Error(`rabbitmq source ${this.name}: start() twice`));
    this.started = true;
    this.sink = sink;
    // Like the other sources, start() waits for the broker but never fails: /readyz reports it.
    return new Promise<void>((resolve) => {
      this.abort.signal.addEventListener("abort", () => resolve(), { once: true });
      this.loop = this.run(resolve);
    });
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  health(): SourceHealth {
    return this.stats.health(!this.stopped && this.connected);
  }

  private async doStop(): Promise<void> {
    this.stopped = true;
    this.connected = false;
    this.abort.abort();
    this.pending = [];
    await this.conn?.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
  }

  private async run(onReady: () => void): Promise<void> {
    while (!this.stopped) {
      let closed: Promise<void> | undefined;
      try {
        ({ closed } = await this.connectOnce());
        this.backoff.reset();
        if (this.everConnected) this.stats.reconnects++;
        this.everConnected = this.connected = true;
        onReady();
      } catch (err) {
        this.recordError(err);
        await this.conn?.close().catch(() => undefined);
      }
      if (closed) await closed;
      this.connected = false;
      this.conn = undefined;
      if (this.stopped) break;
      await sleep(this.backoff.next(), this.abort.signal);
    }
  }

  /** Connects, declares and starts consuming; `closed` settles when the connection ends. */
  private async connectOnce(): Promise<{ closed: Promise<void> }> {
    const conn = await amqp.connect(this.config.url, {
      clientProperties: { connection_name: `cex-ws-gateway:${this.name}` },
      timeout: 5000,
    });
    this.conn = conn;
    const closed = new Promise<void>((resolve) => conn.once("close", () => resolve()));
    conn.on("error", (err: Error) => this.recordError(err));
    if (this.stopped) {
      await conn.close().catch(() => undefined);
      return { closed };
    }
    const ch = await conn.createChannel();
    // A channel closed by the broker (queue deleted, precondition failed) ends the connection: the
    // loop then re-declares everything on a fresh one.
    ch.on("error", (err: Error) => this.recordError(err));
    ch.on("close", () => void conn.close().catch(() => undefined));
    const { exchange } = this.config;
    if (this.config.declareExchange !== false) await ch.assertExchange(exchange, "topic", { durable: true });
    const onMessage = (msg: ConsumeMessage | null) => {
      // null: the broker cancelled the consumer (its queue went away).
      if (msg === null) void conn.close().catch(() => undefined);
      else this.enqueue(ch, msg);
    };
    if (this.config.mode === "queue") {
      for (const q of this.config.queues ?? DEFAULT_QUEUES) {
        const queue = `cex-ws.${this.name}.${q.name}.${this.instance}`;
        await ch.assertQueue(queue, { exclusive: true, autoDelete: true, durable: false });
        for (const key of q.routingKeys) await ch.bindQueue(queue, exchange, key);
        // No acks: an exclusive queue dies with the connection, so a redelivery could never happen.
        await ch.consume(queue, onMessage, { noAck: true });
      }
    } else {
      const s = this.config.stream!;
      const args: Record<string, unknown> = { "x-queue-type": "stream" };
      if (s.maxAge) args["x-max-age"] = s.maxAge;
      if (s.maxLengthBytes) args["x-max-length-bytes"] = s.maxLengthBytes;
      await ch.assertQueue(s.name, { durable: true, arguments: args });
      for (const key of s.routingKeys) await ch.bindQueue(s.name, exchange, key);
      // Stream consumers need a prefetch (their credit) and acks to renew it.
      await ch.prefetch(this.prefetch);
      const spec = this.attachSpec();
      await ch.consume(s.name, onMessage, { noAck: false, arguments: { "x-stream-offset": spec } });
    }
    return { closed };
  }

  /**
   * Where a stream consumer (re)attaches: after the last delivered offset; on the first attach at
   * "next"/"first"; on a re-attach before any message arrived, at the first attach's time (a
   * second early, as stream timestamps are per chunk and in seconds), so what was published during
   * the outage is not skipped. The few older messages that may come with it are before anything
   * this gateway published, so nothing is delivered twice.
   */
  private attachSpec(): StreamOffsetSpec {
    if (this.lastOffset >= 0) return { "!": "long", value: this.lastOffset + 1 };
    const from = this.config.from ?? "next";
    if (this.firstAttachAt === 0) {
      this.firstAttachAt = Date.now();
      return from;
    }
    return from === "first" ? "first" : { "!": "timestamp", value: Math.floor(this.firstAttachAt / 1000) - 1 };
  }

  private enqueue(ch: Channel, msg: ConsumeMessage): void {
    if (this.stopped) return;
    if (this.pendingChannel !== ch) {
      // Deliveries of a channel that died must not be acked on the next one.
      this.pending = [];
      this.pendingChannel = ch;
    }
    this.pending.push(msg);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    const msgs = this.pending;
    const ch = this.pendingChannel;
    this.pending = [];
    if (msgs.length === 0 || this.stopped || !this.sink) return;
    const stream = this.config.mode === "stream";
    const batch: SourceMessage[] = [];
    for (const m of msgs) {
      const msg = toSourceMessage(m);
      if (stream) {
        const off = streamOffsetOf(m);
        // At or below the last delivered offset: a re-attach redelivering what we already have.
        if (off === undefined || off <= this.lastOffset) continue;
        this.lastOffset = off;
        msg.position = off + 1;
      }
      batch.push(msg);
    }
    if (stream && ch) {
      try {
        ch.ack(msgs[msgs.length - 1]!, true);
      } catch (err) {
        this.recordError(err); // the channel closed under us; the re-attach resumes after lastOffset
      }
    }
    if (batch.length === 0) return;
    this.stats.delivered(batch.length);
    try {
      this.sink(batch);
    } catch (err) {
      this.recordError(err); // a failing sink is the gateway's bug; keep reading
    }
  }

  /** Messages of routing key `origin` with position > `fromPosition`, up to what the live consumer has delivered. */
  private async replayStream(origin: string, fromPosition: number, limit: number): Promise<SourceMessage[]> {
    if (this.stopped) throw new Error(`rabbitmq source ${this.name} stopped`);
    const conn = this.conn;
    if (!conn || !this.connected) throw new Error(`rabbitmq source ${this.name}: not connected`);
    // Position P is offset P - 1, so "after P" starts at offset P. Anything past the live
    // consumer's offset reaches the gateway live: the replay stops there.
    const first = Math.max(0, Math.floor(fromPosition));
    const last = this.lastOffset;
    if (limit <= 0 || first > last) return [];
    const msgs = await readStreamRange(conn, this.config.stream!.name, first, last, limit, (m) => m.fields.routingKey === origin);
    return msgs.map((m) => ({ ...toSourceMessage(m), position: streamOffsetOf(m)! + 1 }));
  }

  private recordError(err: unknown): void {
    if (!this.stopped) this.stats.error(err);
  }
}

/** A delivery as a SourceMessage: routing key as origin, the body as a zero-copy view. */
function toSourceMessage(m: ConsumeMessage): SourceMessage {
  const c = m.content;
  const ts = Number(m.properties.timestamp ?? 0);
  return {
    origin: m.fields.routingKey,
    value: new Uint8Array(c.buffer, c.byteOffset, c.byteLength),
    // AMQP timestamps are seconds; producers that send ms are taken as they are.
    timestamp: ts > 1e11 ? ts : ts * 1000,
    key: typeof m.properties.messageId === "string" ? m.properties.messageId : undefined,
  };
}
