/**
 * NATS source: core subjects (at-most-once, live only) or a JetStream stream read through an
 * ordered consumer (every gateway reads everything, positions are stream sequences, replayable).
 *
 * Payloads are handed over as UTF-8 strings (routing decides what is valid JSON); NATS has no
 * message key, so `key` stays undefined. Core mode loses what is published while disconnected (that
 * is core NATS); JetStream mode resumes after the last delivered sequence, so nothing kept by the
 * stream is lost across reconnects and server restarts.
 */
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JsMsg,
  type OrderedConsumerOptions,
} from "@nats-io/jetstream";
import type { BatchSink, Source, SourceHealth, SourceMessage } from "../source.ts";
import { sleep } from "../backoff.ts";
import { SourceRunner } from "../source-runner.ts";

/** Options shared by both modes. */
export interface NatsCommonConfig {
  /** Server URL(s), e.g. "nats://127.0.0.1:4222". */
  servers: string | string[];
  /** Upper bound of one delivered batch (default 1000). */
  maxBatch?: number;
  /** The client's fixed reconnect wait, ms (default 1000); reconnects are unlimited. */
  reconnectTimeWaitMs?: number;
  /** Random extra wait added to each reconnect, ms (default 1000), so gateways spread out. */
  reconnectJitterMs?: number;
}

/** Core NATS: subscribe to subjects (wildcards allowed); origin = subject, no position. */
export interface NatsCoreConfig extends NatsCommonConfig {
  mode: "core";
  subjects: string[];
}

/** Where a JetStream reader starts: only new messages, the whole stream, or a stream sequence. */
export type NatsDeliver = "new" | "all" | { startSeq: number };

/** JetStream: ordered consumer over `stream`; origin = subject, position = stream sequence. */
export interface NatsJetStreamConfig extends NatsCommonConfig {
  mode: "jetstream";
  stream: string;
  /** Filter subjects (wildcards allowed); the whole stream when omitted. */
  subjects?: string[];
  deliver: NatsDeliver;
}

/** Configuration of a {@link NatsSource}. */
export type NatsSourceConfig = NatsCoreConfig | NatsJetStreamConfig;

/** NATS core / JetStream implementation of {@link Source}. */
export class NatsSource implements Source {
  readonly kind = "nats" as const;
  /** Present only in JetStream mode: core NATS keeps nothing to replay from. */
  readonly replay?: (origin: string, fromPosition: number, limit: number) => Promise<SourceMessage[]>;

  private readonly maxBatch: number;
  private readonly decoder = new TextDecoder();

  private nc: NatsConnection | undefined;
  private consumerIter: ConsumerMessages | undefined;
  private deleteConsumer: (() => Promise<unknown>) | undefined;
  private pending: SourceMessage[] = [];
  private flushScheduled = false;
  private runLoop: Promise<void> | undefined;
  /** Last JetStream sequence handed to the sink; a recreated consumer starts right after it. */
  private lastSeq = 0;
  /** Sequence the first consumer starts at, from `deliver`. */
  private nextSeq: number | undefined;
  /** Subjects filtered here because the server cannot filter on several subjects (< 2.10). */
  private clientFilter: string[] | undefined;

  private connUp = false;
  private readingUp = false;
  private readonly runner: SourceRunner;

  constructor(
    readonly name: string,
    private readonly config: NatsSourceConfig,
  ) {
    this.runner = new SourceRunner(`nats source ${name}`, { backoff: { initialMs: 200, maxMs: 15_000 } });
    this.maxBatch = Math.max(1, config.maxBatch ?? 1000);
    if (config.mode === "core" && config.subjects.length === 0) throw new Error(`nats source ${name}: no subjects`);
    if (config.mode === "jetstream") this.replay = (o, p, l) => this.replayJetStream(config, o, p, l);
  }

  start(sink: BatchSink): Promise<void> {
    try {
      this.runner.begin(sink);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve) => {
      this.runLoop = this.supervise(resolve);
    });
  }

  stop(): Promise<void> {
    return this.runner.stopOnce(() => this.doStop());
  }

  health(): SourceHealth {
    return this.runner.health(this.connUp && this.readingUp);
  }

  private async doStop(): Promise<void> {
    // Hand over what was already read, then never call the sink again.
    this.flush();
    this.runner.halt();
    this.readingUp = false;
    const nc = this.nc;
    if (this.consumerIter) await this.consumerIter.close().catch(() => undefined);
    // Ordered consumers are ephemeral; deleting ours spares the server 5 minutes of an orphan.
    if (this.deleteConsumer && nc && !nc.isClosed()) {
      await Promise.race([this.deleteConsumer().catch(() => undefined), sleep(1000)]);
    }
    if (nc && !nc.isClosed()) await nc.close().catch(() => undefined);
    this.connUp = false;
    // A dial in flight may take its full 5 s timeout; the loop closes whatever connection it
    // yields and the sink is never called again, so stop() need not wait that long.
    await Promise.race([this.runLoop?.catch(() => undefined), sleep(1000)]);
  }

  /** Connects, reads until the connection closes for good, and starts over; never throws. */
  private async supervise(onReady: () => void): Promise<void> {
    const signal = this.runner.signal;
    // start() must settle even if stop() comes before the first successful connection.
    signal.addEventListener("abort", () => onReady(), { once: true });
    while (!this.runner.stopped) {
      const wait = this.runner.breaker.remainingCooldownMs();
      if (wait > 0) await sleep(wait, signal);
      if (this.runner.stopped) break;
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers: this.config.servers,
          name: `cex-ws-gateway/${this.name}`,
          maxReconnectAttempts: -1,
          reconnectTimeWait: this.config.reconnectTimeWaitMs ?? 1000,
          reconnectJitter: this.config.reconnectJitterMs ?? 1000,
          timeout: 5000,
          // A dead server is noticed by the socket usually, by pings when the network is lost.
          pingInterval: 20_000,
          maxPingOut: 3,
        });
      } catch (err) {
        this.runner.recordError(err);
        this.runner.breaker.failure();
        await sleep(this.runner.backoff.next(), signal);
        continue;
      }
      if (this.runner.stopped) {
        await nc.close().catch(() => undefined);
        break;
      }
      this.nc = nc;
      this.connUp = true;
      this.runner.breaker.success();
      this.runner.backoff.reset();
      void this.watchStatus(nc);
      if (this.config.mode === "core") {
        this.subscribeCore(nc, this.config);
        // The server has registered the subscriptions once the flush's PONG is back; only then
        // is "everything published after start()" actually delivered.
        await nc.flush().catch((err: unknown) => this.runner.recordError(err));
        this.readingUp = true;
        onReady();
      } else {
        void this.consumeJetStream(nc, this.config, onReady);
      }
      const closedWith = await nc.closed();
      this.connUp = false;
      this.readingUp = false;
      if (this.runner.stopped) break;
      // Only a fatal error (auth, protocol) closes a client with unlimited reconnects.
      this.runner.recordError(closedWith ?? new Error("connection closed"));
      this.runner.stats.reconnects++;
      await sleep(this.runner.backoff.next(), signal);
    }
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") {
        this.connUp = false;
        this.runner.recordError(new Error(`disconnected from ${s.server}`));
      } else if (s.type === "reconnect") {
        this.connUp = true;
        this.runner.stats.reconnects++;
      } else if (s.type === "error") {
        this.runner.recordError(s.error);
      } else if (s.type === "slowConsumer") {
        this.runner.recordError(new Error(`slow consumer on ${s.sub.getSubject()}`));
      }
    }
  }

  private subscribeCore(nc: NatsConnection, config: NatsCoreConfig): void {
    // The client re-subscribes after reconnects itself; closing the connection ends these.
    for (const subject of config.subjects) {
      nc.subscribe(subject, {
        callback: (err: Error | null, msg: Msg) => {
          if (err) return this.runner.recordError(err);
          this.push({ origin: msg.subject, value: this.decoder.decode(msg.data) });
        },
      });
    }
  }

  /** Keeps one ordered consumer alive on `nc`, recreating it after the last delivered sequence. */
  private async consumeJetStream(nc: NatsConnection, config: NatsJetStreamConfig, onReady: () => void) {
    const signal = this.runner.signal;
    const js = jetstream(nc);
    while (!this.runner.stopped && !nc.isClosed()) {
      try {
        // Resolved once: re-resolving "new" for a recreated consumer would skip what arrived since.
        this.nextSeq ??= await this.initialSeq(nc, config);
        const startSeq = Math.max(this.nextSeq, this.lastSeq + 1);
        const consumer = await js.consumers.get(config.stream, {
          ...this.filterOptions(nc, config),
          // Always an explicit sequence: with "new" the library would restart a consumer that
          // saw nothing yet from sequence 1, replaying the whole stream after a server restart.
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: startSeq,
        });
        if (this.runner.stopped) {
          await consumer.delete().catch(() => undefined);
          return;
        }
        this.deleteConsumer = () => consumer.delete();
        const iter = await consumer.consume({
          max_messages: this.maxBatch,
          expires: 5000,
          callback: (m: JsMsg) => this.onJetStreamMsg(m),
        });
        this.consumerIter = iter;
        void this.watchConsumer(iter);
        this.readingUp = true;
        this.runner.backoff.reset();
        onReady();
        const err = await iter.closed();
        this.readingUp = false;
        if (err) this.runner.recordError(err);
      } catch (err) {
        this.readingUp = false;
        this.runner.recordError(err);
      }
      if (!this.runner.stopped) await sleep(this.runner.backoff.next(), signal);
    }
  }

  private async initialSeq(nc: NatsConnection, config: NatsJetStreamConfig): Promise<number> {
    const d = config.deliver;
    if (d === "all") return 1;
    if (typeof d === "object") return Math.max(1, Math.floor(d.startSeq));
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(config.stream);
    return info.state.last_seq + 1;
  }

  private filterOptions(nc: NatsConnection, config: NatsJetStreamConfig): Partial<OrderedConsumerOptions> {
    const subjects = config.subjects ?? [];
    this.clientFilter = undefined;
    if (subjects.length === 0) return {};
    if (subjects.length === 1) return { filter_subjects: subjects[0] };
    if (serverAtLeast(nc, 2, 10)) return { filter_subjects: subjects };
    // Servers before 2.10 take one filter subject per consumer: read all and filter here.
    this.clientFilter = subjects;
    return {};
  }

  private async watchConsumer(iter: ConsumerMessages): Promise<void> {
    for await (const n of iter.status()) {
      if (n.type === "ordered_consumer_recreated") this.readingUp = true;
      else if (n.type === "stream_not_found" || n.type === "consumer_deleted" || n.type === "no_responders") {
        this.readingUp = false;
        this.runner.recordError(new Error(`jetstream ${n.type}`));
      }
    }
  }

  private onJetStreamMsg(m: JsMsg): void {
    const seq = m.info.streamSequence;
    // A recreated consumer must never hand over what was delivered already.
    if (seq <= this.lastSeq) return;
    this.lastSeq = seq;
    if (this.clientFilter && !this.clientFilter.some((p) => subjectMatches(p, m.subject))) return;
    this.push(this.toMessage(m));
  }

  private toMessage(m: JsMsg): SourceMessage {
    return {
      origin: m.subject,
      value: this.decoder.decode(m.data),
      position: m.info.streamSequence,
      timestamp: Math.floor(m.info.timestampNanos / 1e6),
    };
  }

  private async replayJetStream(config: NatsJetStreamConfig, origin: string, from: number, limit: number) {
    const nc = this.nc;
    if (!nc || nc.isClosed() || !this.connUp) throw new Error(`nats source ${this.name}: not connected`);
    if (limit <= 0) return [];
    return this.runner.replayBreaker.run(async () => {
      const consumer = await jetstream(nc).consumers.get(config.stream, {
        filter_subjects: origin,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: Math.max(1, Math.floor(from) + 1),
      });
      try {
        // num_pending at creation tells exactly how much to fetch, so the fetch never idles
        // until its expiry waiting for messages that do not exist.
        const wanted = Math.min(limit, (await consumer.info(true)).num_pending);
        const out: SourceMessage[] = [];
        if (wanted === 0) return out;
        const iter = await consumer.fetch({ max_messages: wanted, expires: 5000 });
        for await (const m of iter) {
          out.push(this.toMessage(m));
          if (out.length >= wanted) break;
        }
        return out;
      } finally {
        consumer.delete().catch(() => undefined);
      }
    });
  }

  private push(msg: SourceMessage): void {
    if (this.runner.stopped) return;
    this.pending.push(msg);
    if (this.pending.length >= this.maxBatch) {
      this.flush();
    } else if (!this.flushScheduled) {
      // The client parses a whole socket read synchronously; one microtask later that whole
      // read is one batch, without adding a timer's latency.
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.runner.deliver(batch);
  }
}

/** NATS subject matching with `*` (one token) and `>` (one or more trailing tokens). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

function serverAtLeast(nc: NatsConnection, major: number, minor: number): boolean {
  const [ma = 0, mi = 0] = (nc.info?.version ?? "0.0.0").split(".").map((x) => Number.parseInt(x, 10));
  return ma > major || (ma === major && mi >= minor);
}
