/**
 * The market producer of bench/cluster.ts, in its own process: publishes events to the broker with
 * the broker's own client as a matching engine would (no /publish shortcut), one stream per event
 * by EventPlan, each event numbered per stream (`n`) and stamped with its send time (`pt`).
 * "prime" sends one event to every stream (so every client holds a position on every stream before
 * the measured window, and every gateway has created its logs), "run" sends `eventsPerSec` for
 * `seconds` on an absolute schedule. Both answer with the per-stream counts so far.
 * Started with CLUSTER_PRODUCER (ProducerConfig JSON) and an IPC channel.
 */
import { dieWithParent } from "../fanout/common.ts";
import { childConfig } from "../shared/client-process.ts";
import { openPublisher, type BrokerTarget } from "./broker.ts";
import { EventPlan, eventJson, publicStreams } from "./market.ts";

/** What the producer process is started with. */
export interface ProducerConfig {
  target: BrokerTarget;
  pairs: number;
  /** Users with an orders stream. */
  users: string[];
  ordersShare: number;
  eventsPerSec: number;
}

/** Bench -> producer. */
export type ToProducer = { t: "prime" } | { t: "run"; seconds: number } | { t: "exit" };
/** Producer -> bench. */
export type FromProducer =
  | { t: "ready" }
  | { t: "primed"; counts: Record<string, number>; failed: number }
  | { t: "progress"; sent: number }
  | { t: "done"; counts: Record<string, number>; sent: number; failed: number; seconds: number; behindMs: number };

/** Publishes not yet acknowledged above which the schedule waits (bounded memory). */
const MAX_IN_FLIGHT = 20_000;

const nowMs = () => performance.timeOrigin + performance.now();

if (import.meta.main) {
  dieWithParent(30 * 60_000);
  const cfg = childConfig<ProducerConfig>("CLUSTER_PRODUCER");
  const send = (m: FromProducer) => process.send?.(m);
  const pub = await openPublisher(cfg.target);
  const plan = new EventPlan(cfg.pairs, cfg.users, cfg.ordersShare);
  const counts = new Map<string, number>();
  let sent = 0;
  const emit = (stream: string, measured: boolean) => {
    const n = (counts.get(stream) ?? 0) + 1;
    counts.set(stream, n);
    pub.publish(stream, eventJson(stream, n, nowMs(), measured));
    sent++;
  };

  const prime = async () => {
    const all = [...publicStreams(cfg.pairs), ...cfg.users.map((u) => `orders.${u}`)];
    for (let i = 0; i < all.length; i++) {
      emit(all[i]!, false);
      // A few hundred at a time: each new stream costs every gateway a log creation.
      if (i % 200 === 199) await Bun.sleep(20);
    }
    const failed = await pub.flush(30_000);
    send({ t: "primed", counts: Object.fromEntries(counts), failed });
  };

  const run = async (seconds: number) => {
    const t0 = performance.now();
    const total = Math.round(cfg.eventsPerSec * seconds);
    let i = 0;
    let behindMs = 0;
    let lastProgress = 0;
    while (i < total && performance.now() - t0 < seconds * 1000 + 5000) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * cfg.eventsPerSec) / 1000) + 1);
      if (pub.inFlight() > MAX_IN_FLIGHT) behindMs += 2;
      else for (; i < due; i++) emit(plan.stream(i), true);
      if (performance.now() - lastProgress > 500) {
        lastProgress = performance.now();
        send({ t: "progress", sent });
      }
      await Bun.sleep(2);
    }
    const secs = (performance.now() - t0) / 1000;
    const failed = await pub.flush(30_000);
    send({ t: "done", counts: Object.fromEntries(counts), sent, failed, seconds: secs, behindMs });
  };

  process.on("message", (m: ToProducer) => {
    if (m.t === "prime") void prime();
    else if (m.t === "run") void run(m.seconds);
    else if (m.t === "exit") void pub.close().finally(() => process.exit(0));
  });
  send({ t: "ready" });
}
