/**
 * Kafka source: every partition of the configured topics, delivered to the gateway in batches.
 *
 * librdkafka (via @confluentinc/kafka-javascript) runs in a Node child process (kafka-worker.ts)
 * because Bun 1.4.5 cannot run that NAN addon in-process (missing V8/node symbols). The worker
 * streams whole batches as binary frames over its stdout; one frame becomes one sink() call.
 *
 * Delivery: in order per partition, no loss across broker restarts (librdkafka reconnects and keeps
 * its fetch positions) and across worker crashes (we respawn it from the offsets we received).
 * Each gateway reads everything: manual assignment, a unique group id, no commits.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { BatchSink, Source, SourceHealth, SourceMessage } from "../source.ts";
import { SourceRunner } from "../source-runner.ts";
import {
  BATCH_MESSAGES_AT, ERR_ALL_BROKERS_DOWN, FRAME_BATCH, FRAME_JSON, FRAME_REPLAY, FrameReader, REPLAY_ID_AT, REPLAY_MESSAGES_AT, decodeMessages,
  type WorkerCommand, type WorkerStatus,
} from "./kafka-frames.ts";
import type { WorkerConfig } from "./kafka-worker.ts";

/** Configuration of one Kafka source. */
export interface KafkaSourceConfig {
  name: string;
  /** Bootstrap servers, "host:port". */
  brokers: string[];
  topics: string[];
  clientId?: string;
  /** Start at the oldest retained message instead of only new ones (default false). */
  fromBeginning?: boolean;
  /** Max messages per delivered batch (default 2000). */
  maxBatchSize?: number;
  /** Extra librdkafka global settings, e.g. security. */
  rdkafka?: Record<string, string | number | boolean>;
  /** Node binary for the worker; default: the one scripts/build-kafka.sh recorded. */
  nodePath?: string;
  /** How long start() waits for the first connection (default 60 s). */
  startTimeoutMs?: number;
}

/** Default of KafkaSourceConfig.maxBatchSize. */
const DEFAULT_MAX_BATCH = 2000;
/** Default of KafkaSourceConfig.startTimeoutMs. */
const DEFAULT_START_TIMEOUT_MS = 60_000;
/** How long a replay waits for the worker's answer. */
const REPLAY_TIMEOUT_MS = 30_000;
/** How long stop() waits for the worker to exit before killing it. */
const STOP_KILL_AFTER_MS = 5000;
/** First delay before respawning a worker that died; doubles (with jitter) up to RESPAWN_MAX_MS. */
const RESPAWN_INITIAL_MS = 500;
const RESPAWN_MAX_MS = 10_000;

const WORKER = new URL("./kafka-worker.ts", import.meta.url).pathname;
const PKG = "@confluentinc/kafka-javascript";

/** The Node binary the addon was built for, as recorded by scripts/build-kafka.sh. */
export function kafkaWorkerNode(): string {
  if (process.env.KAFKA_WORKER_NODE) return process.env.KAFKA_WORKER_NODE;
  const pkgDir = dirname(createRequire(import.meta.url).resolve(`${PKG}/package.json`));
  const file = join(pkgDir, "build", "gateway-node-runtime.json");
  if (!existsSync(file)) throw new Error(`${PKG} is not built: run scripts/build-kafka.sh`);
  return (JSON.parse(readFileSync(file, "utf8")) as { node: string }).node;
}

/**
 * Kafka topics as an event source. `replay` origins: "topic" means partition 0 (the normal case:
 * a stream that needs portable positions maps to a single-partition topic, since offsets of
 * different partitions are unrelated); "topic:N" selects partition N explicitly.
 */
export class KafkaSource implements Source {
  readonly name: string;
  readonly kind = "kafka" as const;

  private readonly cfg: KafkaSourceConfig;
  private readonly groupId: string;
  private proc?: ReturnType<typeof spawnWorker>;
  private respawnTimer?: ReturnType<typeof setTimeout>;
  private readyWaiter?: { resolve: () => void; reject: (e: Error) => void };
  /** next[topicIdx][partition] = offset after the last one delivered (or the assigned start). */
  private readonly next: number[][];
  private replaySeq = 0;
  private readonly replays = new Map<number, { resolve: (m: SourceMessage[]) => void; reject: (e: Error) => void; topic: string }>();
  /**
   * Start/stop state, sink hand-off, this side's totals (the worker's own counters are added on top:
   * they restart with it) and the respawn backoff, with jitter.
   */
  private readonly runner: SourceRunner;
  private connected = false;
  private lag: number | undefined;
  private workerErrors = 0;
  private workerReconnects = 0;

  constructor(cfg: KafkaSourceConfig) {
    if (cfg.topics.length === 0) throw new Error(`kafka source ${cfg.name}: no topics`);
    this.cfg = cfg;
    this.name = cfg.name;
    this.next = cfg.topics.map(() => []);
    this.runner = new SourceRunner(`kafka source ${cfg.name}`, { restartable: true, backoff: { initialMs: RESPAWN_INITIAL_MS, maxMs: RESPAWN_MAX_MS } });
    // Unique per gateway instance: a shared group id could make brokers split partitions between
    // gateways if anyone ever subscribed with it; we only assign, so nothing is committed.
    this.groupId = `${cfg.clientId ?? "ws-gateway"}-${cfg.name}-${randomUUID()}`;
  }

  /** Starts (or, after stop(), resumes from the offsets already delivered) reading. */
  async start(sink: BatchSink): Promise<void> {
    if (this.proc) return;
    this.runner.begin(sink);
    const ready = new Promise<void>((resolve, reject) => (this.readyWaiter = { resolve, reject }));
    const timeoutMs = this.cfg.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const timer = setTimeout(() => this.readyWaiter?.reject(new Error(
      `kafka source ${this.name}: not connected to ${this.cfg.brokers.join(",")} after ${timeoutMs} ms (${this.runner.stats.lastError ?? "no error"})`,
    )), timeoutMs);
    try {
      this.spawn();
      await ready;
    } catch (e) {
      await this.stop();
      throw e;
    } finally {
      clearTimeout(timer);
      this.readyWaiter = undefined;
    }
  }

  async stop(): Promise<void> {
    this.runner.halt();
    clearTimeout(this.respawnTimer);
    const proc = this.proc;
    this.proc = undefined;
    this.connected = false;
    if (!proc) return;
    try {
      proc.stdin.write(JSON.stringify({ op: "stop" } satisfies WorkerCommand) + "\n");
      proc.stdin.end();
    } catch {
      // already gone
    }
    const killer = setTimeout(() => proc.kill("SIGKILL"), STOP_KILL_AFTER_MS);
    await proc.exited;
    clearTimeout(killer);
  }

  health(): SourceHealth {
    const h = this.runner.health(this.connected);
    return { ...h, lag: this.lag, errors: h.errors + this.workerErrors, reconnects: h.reconnects + this.workerReconnects };
  }

  /**
   * Reads `origin` (see the class comment for the partition) after `fromPosition` (positions are
   * Kafka offset + 1), via a separate
   * consumer in the worker so the live stream is not disturbed. When retention already deleted
   * fromPosition + 1, the answer starts at the oldest retained offset: callers detect the gap by
   * comparing the first position with fromPosition + 1.
   */
  async replay(origin: string, fromPosition: number, limit: number): Promise<SourceMessage[]> {
    const m = /^(.*):(\d+)$/.exec(origin);
    const topic = m ? m[1]! : origin;
    const partition = m ? Number(m[2]) : 0;
    const proc = this.proc;
    if (!proc) throw new Error(`kafka source ${this.name}: not running`);
    const id = ++this.replaySeq;
    const result = new Promise<SourceMessage[]>((resolve, reject) => this.replays.set(id, { resolve, reject, topic }));
    // Positions are offset + 1 (see kafka-frames.ts): "after position P" is "from offset P".
    const cmd: WorkerCommand = { op: "replay", id, topic, partition, from: fromPosition - 1, limit };
    proc.stdin.write(JSON.stringify(cmd) + "\n");
    proc.stdin.flush();
    const timer = setTimeout(() => this.settleReplay(id, new Error(`kafka replay ${origin} timed out`)), REPLAY_TIMEOUT_MS);
    try {
      return await result;
    } finally {
      clearTimeout(timer);
    }
  }

  private spawn(): void {
    const cfg: WorkerConfig = {
      brokers: this.cfg.brokers,
      topics: this.cfg.topics,
      clientId: this.cfg.clientId ?? `ws-gateway-${this.name}`,
      groupId: this.groupId,
      fromBeginning: this.cfg.fromBeginning ?? false,
      maxBatchSize: this.cfg.maxBatchSize ?? DEFAULT_MAX_BATCH,
      startOffsets: this.startOffsets(),
      rdkafka: this.cfg.rdkafka,
    };
    const proc = spawnWorker(this.cfg.nodePath ?? kafkaWorkerNode(), cfg, (code) => this.onExit(proc, code));
    this.proc = proc;
    void this.readFrames(proc);
  }

  /** Offsets to resume from after a respawn; empty on first start. */
  private startOffsets(): WorkerConfig["startOffsets"] {
    const out: NonNullable<WorkerConfig["startOffsets"]> = {};
    this.next.forEach((parts, t) => {
      parts.forEach((off, p) => {
        (out[this.cfg.topics[t]!] ??= {})[p] = off;
      });
    });
    return out;
  }

  private async readFrames(proc: ReturnType<typeof spawnWorker>): Promise<void> {
    const frames = new FrameReader();
    // Frames still buffered from a worker we stopped or replaced must not reach the sink.
    const onFrame = (frame: Buffer, type: number) => {
      if (this.proc === proc) this.onFrame(frame, type);
    };
    const reader = proc.stdout.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        frames.push(value, onFrame);
      }
    } catch (e) {
      this.runner.recordError(`worker stdout: ${(e as Error).message}`);
    }
  }

  private onFrame(frame: Buffer, type: number): void {
    if (type === FRAME_BATCH) {
      const batch = decodeMessages(frame, BATCH_MESSAGES_AT, this.cfg.topics, (t, p, off) => {
        this.next[t]![p] = off + 1;
      });
      this.runner.deliver(batch);
    } else if (type === FRAME_REPLAY) {
      const id = frame.readUInt32BE(REPLAY_ID_AT);
      const pending = this.replays.get(id);
      if (pending) {
        this.replays.delete(id);
        pending.resolve(decodeMessages(frame, REPLAY_MESSAGES_AT, [pending.topic]));
      }
    } else if (type === FRAME_JSON) {
      this.onStatus(JSON.parse(frame.toString("utf8", 5)) as WorkerStatus);
    }
  }

  private onStatus(s: WorkerStatus): void {
    switch (s.type) {
      case "assigned":
        // Start offsets of partitions we have no message from yet: a respawn must not skip
        // what arrives in them meanwhile.
        for (const [topic, parts] of Object.entries(s.offsets)) {
          const t = this.cfg.topics.indexOf(topic);
          if (t < 0) continue;
          for (const [p, off] of Object.entries(parts)) this.next[t]![Number(p)] ??= off;
        }
        break;
      case "ready":
        this.connected = true;
        this.runner.backoff.reset();
        this.readyWaiter?.resolve();
        break;
      case "health":
        this.connected = s.connected;
        this.lag = s.lag;
        this.workerErrors = s.errors;
        this.workerReconnects = s.reconnects;
        if (s.lastError) this.runner.stats.lastError = s.lastError;
        break;
      case "error":
        this.workerErrors++;
        this.runner.stats.lastError = s.message;
        if (s.code === ERR_ALL_BROKERS_DOWN) this.connected = false;
        break;
      case "replay-error":
        this.settleReplay(s.id, new Error(`kafka replay: ${s.message}`));
        break;
    }
  }

  private settleReplay(id: number, err: Error): void {
    const pending = this.replays.get(id);
    this.replays.delete(id);
    pending?.reject(err);
  }

  private onExit(proc: ReturnType<typeof spawnWorker>, code: number | null): void {
    if (this.proc !== proc) return; // stopped on purpose
    this.proc = undefined;
    this.connected = false;
    // The worker's counters restart with it; keep what it had reported.
    this.runner.stats.errors += this.workerErrors;
    this.runner.stats.reconnects += this.workerReconnects;
    this.workerErrors = this.workerReconnects = 0;
    this.runner.recordError(`kafka worker exited with code ${code}`);
    for (const id of [...this.replays.keys()]) this.settleReplay(id, new Error("kafka worker exited"));
    if (this.runner.stopped) return;
    this.runner.stats.reconnects++;
    this.respawnTimer = setTimeout(() => this.spawn(), this.runner.backoff.next());
  }
}

function spawnWorker(node: string, cfg: WorkerConfig, onExit: (code: number | null) => void) {
  return Bun.spawn([node, WORKER, JSON.stringify(cfg)], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
    onExit: (_p, code) => onExit(code),
  });
}
