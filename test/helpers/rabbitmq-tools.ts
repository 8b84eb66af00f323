/**
 * A RabbitMQ producer for tests and benches: publisher confirms, and a reconnect that rides out a
 * broker restart (a message whose confirm was lost is published again; callers that must rule
 * out a duplicate read the stream back, see readStreamValues).
 */
import amqp, { type ChannelModel, type ConfirmChannel } from "amqplib";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publishes to a topic exchange with confirms, reconnecting as needed. */
export class RabbitPublisher {
  private conn: ChannelModel | undefined;
  private ch: ConfirmChannel | undefined;
  private connecting: Promise<ConfirmChannel> | undefined;

  /**
   * `streams`: stream queues the messages go to. After a reconnect the publisher waits until each
   * accepts a consumer again: right after a broker restart the exchange routes (and confirms)
   * before the stream's member is back, and those messages are dropped.
   */
  constructor(
    private readonly url: string,
    private readonly streams: string[] = [],
  ) {}

  /** Adds a stream to wait for after a reconnect (see the constructor). */
  watchStream(name: string): void {
    if (!this.streams.includes(name)) this.streams.push(name);
  }

  /** Declares a durable topic exchange. */
  async exchange(name: string): Promise<void> {
    await (await this.channel()).assertExchange(name, "topic", { durable: true });
  }

  /** Declares a stream queue bound to `exchange` with `routingKeys` (what the source declares too). */
  async stream(name: string, exchange: string, routingKeys: string[]): Promise<void> {
    this.watchStream(name);
    const ch = await this.channel();
    await ch.assertQueue(name, { durable: true, arguments: { "x-queue-type": "stream" } });
    for (const k of routingKeys) await ch.bindQueue(name, exchange, k);
  }

  /** Deletes queues and exchanges; errors (already gone) are ignored. */
  async remove(queues: string[], exchanges: string[] = []): Promise<void> {
    for (const q of queues) await (await this.channel()).deleteQueue(q).catch(() => undefined);
    for (const x of exchanges) await (await this.channel()).deleteExchange(x).catch(() => undefined);
  }

  /**
   * Publishes `values` in order under `routingKey` and resolves once the broker confirmed them all.
   * With `retryMs`, a failed batch (broker restarting) is retried from its first unconfirmed
   * message until that much time has passed; `ratePerSec` paces the messages one by one.
   */
  async publish(exchange: string, routingKey: string | ((i: number) => string), values: string[], opts: { retryMs?: number; ratePerSec?: number } = {}): Promise<void> {
    const key = typeof routingKey === "string" ? () => routingKey : routingKey;
    const deadline = Date.now() + (opts.retryMs ?? 0);
    const t0 = Date.now();
    let i = 0;
    while (i < values.length) {
      try {
        const ch = await this.channel();
        if (opts.ratePerSec) {
          const due = t0 + (i * 1000) / opts.ratePerSec;
          if (due > Date.now()) await sleep(due - Date.now());
          await confirmOne(ch, exchange, key(i), values[i]!);
          i++;
          continue;
        }
        const end = Math.min(values.length, i + 1000);
        for (let j = i; j < end; j++) ch.publish(exchange, key(j), Buffer.from(values[j]!), { persistent: true, timestamp: Date.now() });
        await ch.waitForConfirms();
        i = end;
      } catch (err) {
        this.drop();
        if (Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
  }

  async close(): Promise<void> {
    await this.conn?.close().catch(() => undefined);
    this.drop();
  }

  private drop(): void {
    this.conn = undefined;
    this.ch = undefined;
    this.connecting = undefined;
  }

  /** The confirm channel itself, for a producer that publishes without waiting per message (benches). */
  confirmChannel(): Promise<ConfirmChannel> {
    return this.channel();
  }

  private channel(): Promise<ConfirmChannel> {
    if (this.ch) return Promise.resolve(this.ch);
    this.connecting ??= (async () => {
      const conn = await amqp.connect(this.url, { clientProperties: { connection_name: "test-producer" } });
      conn.on("error", () => undefined);
      conn.on("close", () => this.conn === conn && this.drop());
      for (const s of this.streams) await untilStreamAttaches(conn, s);
      const ch = await conn.createConfirmChannel();
      ch.on("error", () => undefined);
      ch.on("close", () => this.ch === ch && this.drop());
      this.conn = conn;
      this.ch = ch;
      return ch;
    })().catch((err) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }
}

/** Waits until a consumer can attach to stream `name` (its member runs), up to 60 s. */
async function untilStreamAttaches(conn: ChannelModel, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ch = await conn.createChannel();
    ch.on("error", () => undefined);
    try {
      await ch.prefetch(1);
      const { consumerTag } = await ch.consume(name, () => undefined, { arguments: { "x-stream-offset": "next" } });
      await ch.cancel(consumerTag);
      await ch.close();
      return;
    } catch (err) {
      await ch.close().catch(() => undefined);
      if (/NOT_FOUND/.test(String(err))) return; // not declared yet: nothing to wait for
      if (Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

function confirmOne(ch: ConfirmChannel, exchange: string, key: string, value: string): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.publish(exchange, key, Buffer.from(value), { persistent: true, timestamp: Date.now() }, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Publishes `values` in order to `exchange` under `routingKey`, each one only after the previous
 * one is seen in `stream`, and resolves with the stream offset of each. A message the broker
 * confirmed but did not store (RabbitMQ 3.10 does that for publishes that reach a stream while the
 * node shuts down) is published again, so the stream ends up with every value once, in order.
 */
export async function publishToStreamVerified(
  url: string,
  exchange: string,
  stream: string,
  routingKey: string,
  values: string[],
  ratePerSec: number,
  timeoutMs = 120_000,
): Promise<number[]> {
  const pub = new RabbitPublisher(url, [stream]);
  const tail = new StreamTail(url, stream);
  const offsets: number[] = [];
  const deadline = Date.now() + timeoutMs;
  const t0 = Date.now();
  try {
    await tail.start();
    for (let i = 0; i < values.length; i++) {
      const due = t0 + (i * 1000) / ratePerSec;
      if (due > Date.now()) await sleep(due - Date.now());
      for (;;) {
        if (Date.now() > deadline) throw new Error(`publish to ${stream}: ${i}/${values.length} after ${timeoutMs} ms`);
        await pub.publish(exchange, routingKey, [values[i]!], { retryMs: 60_000 });
        // Seen within 5 s of its confirm (the tail re-attaches by itself after a restart), or lost.
        const off = await tail.waitFor(values[i]!, 5000);
        if (off !== undefined) {
          offsets.push(off);
          break;
        }
      }
    }
  } finally {
    await tail.stop();
    await pub.close();
  }
  return offsets;
}

/** Follows a stream from its end, re-attaching after the last seen offset when the connection drops. */
class StreamTail {
  private seen = new Map<string, number>();
  private last = -1;
  private stopped = false;
  private conn: ChannelModel | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly stream: string,
  ) {}

  async start(): Promise<void> {
    await this.attach();
    this.loop = this.keepAttached();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.conn?.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
  }

  /** The offset `value` was stored at, once seen; undefined after `ms`. */
  async waitFor(value: string, ms: number): Promise<number | undefined> {
    const until = Date.now() + ms;
    for (;;) {
      const off = this.seen.get(value);
      if (off !== undefined) return off;
      // Not attached (broker restarting): the clock only runs while we can see the stream.
      if (Date.now() > until && this.conn) return undefined;
      await sleep(10);
    }
  }

  private async attach(): Promise<void> {
    const conn = await amqp.connect(this.url, { clientProperties: { connection_name: "test-stream-tail" } });
    conn.on("error", () => undefined);
    const ch = await conn.createChannel();
    ch.on("error", () => undefined);
    await ch.prefetch(1000);
    const from = this.last >= 0 ? { "!": "long", value: this.last + 1 } : "next";
    await ch.consume(this.stream, (m) => {
      if (!m) return void conn.close().catch(() => undefined);
      ch.ack(m);
      const off = Number(m.properties.headers?.["x-stream-offset"]);
      if (off <= this.last) return;
      this.last = off;
      this.seen.set(m.content.toString(), off);
    }, { noAck: false, arguments: { "x-stream-offset": from } });
    this.conn = conn;
    conn.once("close", () => {
      if (this.conn === conn) this.conn = undefined;
    });
  }

  private async keepAttached(): Promise<void> {
    while (!this.stopped) {
      if (!this.conn) await this.attach().catch(() => sleep(200));
      await sleep(50);
    }
  }
}

/** Every message a stream holds, oldest first, with its offset and routing key (what the source must see). */
export async function readStreamValues(url: string, queue: string, expected: number, timeoutMs = 15_000): Promise<{ offset: number; key: string; value: string }[]> {
  const conn = await amqp.connect(url);
  const out: { offset: number; key: string; value: string }[] = [];
  try {
    const ch = await conn.createChannel();
    await ch.prefetch(1000);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read back ${queue}: ${out.length}/${expected}`)), timeoutMs);
      void ch.consume(queue, (m) => {
        if (!m) return;
        ch.ack(m);
        out.push({ offset: Number(m.properties.headers?.["x-stream-offset"]), key: m.fields.routingKey, value: m.content.toString() });
        if (out.length >= expected) {
          clearTimeout(timer);
          // A short pause shows whether there is more than expected (a duplicate).
          setTimeout(resolve, 300);
        }
      }, { noAck: false, arguments: { "x-stream-offset": "first" } });
    });
  } finally {
    await conn.close().catch(() => undefined);
  }
  return out;
}
