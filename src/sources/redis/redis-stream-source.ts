/**
 * Redis Streams source: one blocking XREAD loop per gateway on a dedicated connection, no consumer
 * groups, so every gateway reads every entry.
 *
 * Entry layout: the payload is field `data`, else field `value`; an entry with neither is delivered
 * as a JSON object of all its fields. Optional field `key` becomes SourceMessage.key. The entry id
 * `ms-n` becomes position `ms * 1000 + n` (see redisIdToPosition) and `ms` the timestamp.
 *
 * After a disconnect the loop resumes after the last id it delivered, so a Redis restart loses
 * nothing Redis itself kept (run Redis with appendonly yes, or entries are gone with the restart).
 */
import { Redis } from "ioredis";
import type { BatchSink, Source, SourceHealth, SourceMessage } from "../source.ts";
import { Backoff, sleep } from "../backoff.ts";
import { SourceRunner } from "../source-runner.ts";

/** Configuration of a {@link RedisStreamSource}. */
export interface RedisStreamSourceConfig {
  /** e.g. "redis://127.0.0.1:6379". */
  url: string;
  /** Stream keys to read; each is an origin. */
  streams: string[];
  /** "$": only entries added after start; "0": every entry the streams hold. */
  from: "$" | "0";
  /** XREAD COUNT per stream and call (default 1000); one reply is one batch. */
  count?: number;
  /** XREAD BLOCK timeout, ms (default 5000); only bounds how long one idle call lasts. */
  blockMs?: number;
}

/** Entries per millisecond that fit the position scheme: n must stay below this. */
export const REDIS_SEQ_PER_MS = 1000;

/**
 * Maps a stream entry id `ms-n` to a strictly increasing integer: ms * 1000 + n. It is exact and
 * readable (1700000000000-7 -> 1700000000000007) and stays below 2^53 until the year 2255.
 * Ids with n >= 1000 (more than 1000 entries in one ms of one stream, only under extreme bursts
 * or explicit producer ids) do not fit: undefined is returned and such an entry is delivered
 * without a position rather than with a wrong one.
 */
export function redisIdToPosition(id: string): number | undefined {
  const dash = id.indexOf("-");
  const ms = Number(dash < 0 ? id : id.slice(0, dash));
  const n = dash < 0 ? 0 : Number(id.slice(dash + 1));
  if (!Number.isInteger(ms) || !Number.isInteger(n) || ms < 0 || n < 0 || n >= REDIS_SEQ_PER_MS) return undefined;
  const pos = ms * REDIS_SEQ_PER_MS + n;
  return Number.isSafeInteger(pos) ? pos : undefined;
}

/** Inverse of {@link redisIdToPosition}: the entry id a position stands for, for XRANGE. */
export function positionToRedisId(position: number): string {
  const p = Math.max(0, Math.floor(position));
  return `${Math.floor(p / REDIS_SEQ_PER_MS)}-${p % REDIS_SEQ_PER_MS}`;
}

type StreamEntry = [id: string, fields: string[]];

/** Redis Streams (XREAD, no consumer group) implementation of {@link Source}. */
export class RedisStreamSource implements Source {
  readonly kind = "redis" as const;

  private readonly count: number;
  private readonly blockMs: number;
  /** ioredis' own reconnects of the reader; the read loop's retries use the runner's backoff. */
  private readonly backoff = new Backoff({ initialMs: 100, maxMs: 10_000 });
  private readonly runner: SourceRunner;
  /** Last id delivered per stream key; XREAD resumes strictly after it. */
  private readonly lastIds = new Map<string, string>();

  private reader: Redis | undefined;
  private commands: Redis | undefined;
  private commandsConnecting: Promise<void> | undefined;
  private loop: Promise<void> | undefined;

  private everReady = false;

  constructor(
    readonly name: string,
    private readonly config: RedisStreamSourceConfig,
  ) {
    if (config.streams.length === 0) throw new Error(`redis source ${name}: no streams configured`);
    this.runner = new SourceRunner(`redis source ${name}`);
    this.count = Math.max(1, config.count ?? 1000);
    this.blockMs = Math.max(1, config.blockMs ?? 5000);
  }

  start(sink: BatchSink): Promise<void> {
    try {
      this.runner.begin(sink);
    } catch (err) {
      return Promise.reject(err);
    }
    this.reader = new Redis(this.config.url, {
      connectionName: `cex-ws-gateway:${this.name}`,
      // Commands wait for the reconnect instead of failing, and the XREAD in flight when the
      // connection died is re-sent with the same ids, so nothing is skipped or repeated.
      maxRetriesPerRequest: null,
      autoResendUnfulfilledCommands: true,
      retryStrategy: () => this.backoff.next(),
      connectTimeout: 5000,
    });
    this.reader.on("ready", () => {
      this.backoff.reset();
      if (this.everReady) this.runner.stats.reconnects++;
      this.everReady = true;
    });
    this.reader.on("error", (err: Error) => this.runner.recordError(err));
    return new Promise<void>((resolve) => {
      this.runner.signal.addEventListener("abort", () => resolve(), { once: true });
      this.loop = this.run(this.reader!, resolve);
    });
  }

  stop(): Promise<void> {
    return this.runner.stopOnce(() => this.doStop());
  }

  health(): SourceHealth {
    return this.runner.health(!this.runner.stopped && this.reader?.status === "ready");
  }

  /** Entries of stream `origin` after `fromPosition`, oldest first, at most `limit` (XRANGE). */
  async replay(origin: string, fromPosition: number, limit: number): Promise<SourceMessage[]> {
    if (this.runner.stopped) throw new Error(`redis source ${this.name} stopped`);
    if (limit <= 0) return [];
    // A separate connection: the reader is parked in XREAD BLOCK most of the time.
    if (!this.commands) {
      this.commands = new Redis(this.config.url, {
        connectionName: `cex-ws-gateway:${this.name}:replay`,
        // Resume requests should fail fast when Redis is down, not queue behind a reconnect.
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        retryStrategy: (times) => Math.min(5000, 100 * 2 ** Math.min(times, 6)),
        lazyConnect: true,
      });
      // Replay failures surface through the rejected call; the reader already counts outages.
      this.commands.on("error", () => undefined);
    }
    const cmd = this.commands;
    return this.runner.replayBreaker.run(async () => {
      if (cmd.status === "wait" || cmd.status === "end") {
        // Concurrent first replays share one connect instead of failing on a half-open socket.
        this.commandsConnecting ??= cmd.connect().finally(() => (this.commandsConnecting = undefined));
      }
      if (this.commandsConnecting) await this.commandsConnecting;
      const start = fromPosition > 0 ? `(${positionToRedisId(fromPosition)}` : "-";
      const entries = (await cmd.xrange(origin, start, "+", "COUNT", limit)) as StreamEntry[];
      return entries.map((e) => this.toMessage(origin, e));
    });
  }

  private async doStop(): Promise<void> {
    this.runner.halt();
    // The abort rejects the awaited XREAD (see untilStopped) and disconnect() ends reconnecting,
    // so the loop ends at once even while Redis is down.
    this.reader?.disconnect();
    this.commands?.disconnect();
    await this.loop?.catch(() => undefined);
  }

  private async run(reader: Redis, onReady: () => void): Promise<void> {
    const signal = this.runner.signal;
    while (!this.runner.stopped && !(await this.resolveStartIds(reader))) {
      await sleep(this.runner.backoff.next(), signal);
    }
    this.runner.backoff.reset();
    onReady();
    const keys = this.config.streams;
    while (!this.runner.stopped) {
      const wait = this.runner.breaker.remainingCooldownMs();
      if (wait > 0) await sleep(wait, signal);
      if (this.runner.stopped) break;
      try {
        const ids = keys.map((k) => this.lastIds.get(k) ?? "0-0");
        const reply = await this.untilStopped(
          reader.xread("COUNT", this.count, "BLOCK", this.blockMs, "STREAMS", ...keys, ...ids),
        );
        this.runner.breaker.success();
        this.runner.backoff.reset();
        if (reply) this.deliver(reply);
      } catch (err) {
        if (this.runner.stopped) break;
        // Errors that are not connection losses (e.g. WRONGTYPE) land here; connection losses
        // are absorbed by ioredis and only delay the reply.
        this.runner.recordError(err);
        this.runner.breaker.failure();
        await sleep(this.runner.backoff.next(), signal);
      }
    }
  }

  /** Pins "$" to the current last id, so a reconnect before the first entry cannot skip any. */
  private async resolveStartIds(reader: Redis): Promise<boolean> {
    try {
      for (const key of this.config.streams) {
        if (this.lastIds.has(key)) continue;
        if (this.config.from === "0") {
          this.lastIds.set(key, "0-0");
          continue;
        }
        const last = (await this.untilStopped(reader.xrevrange(key, "+", "-", "COUNT", 1))) as StreamEntry[];
        this.lastIds.set(key, last[0]?.[0] ?? "0-0");
      }
      return true;
    } catch (err) {
      this.runner.recordError(err);
      return false;
    }
  }

  /**
   * `p`, or a rejection as soon as stop() is called: disconnect() does not reject commands parked
   * in ioredis' offline queue while it is reconnecting, and stop() must not wait for Redis.
   */
  private untilStopped<T>(p: Promise<T>): Promise<T> {
    const signal = this.runner.signal;
    p.catch(() => undefined);
    if (signal.aborted) return Promise.reject(new Error("stopped"));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new Error("stopped"));
      signal.addEventListener("abort", onAbort, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  private deliver(reply: [key: string, items: StreamEntry[]][]): void {
    const batch: SourceMessage[] = [];
    for (const [key, entries] of reply) {
      for (const entry of entries) batch.push(this.toMessage(key, entry));
      const last = entries[entries.length - 1];
      if (last) this.lastIds.set(key, last[0]);
    }
    this.runner.deliver(batch);
  }

  private toMessage(origin: string, [id, fields]: StreamEntry): SourceMessage {
    let data: string | undefined;
    let value: string | undefined;
    let key: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const f = fields[i];
      if (f === "data") data = fields[i + 1];
      else if (f === "value") value = fields[i + 1];
      else if (f === "key") key = fields[i + 1];
    }
    const position = redisIdToPosition(id);
    if (position === undefined) this.runner.recordError(new Error(`entry id ${id} of ${origin} has no position`));
    const msg: SourceMessage = {
      origin,
      value: data ?? value ?? fieldsToJson(fields),
      position,
      timestamp: Number.parseInt(id, 10) || 0,
    };
    if (key !== undefined) msg.key = key;
    return msg;
  }
}

function fieldsToJson(fields: string[]): string {
  const obj: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) obj[fields[i]!] = fields[i + 1]!;
  return JSON.stringify(obj);
}
