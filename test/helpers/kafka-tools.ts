/**
 * Kafka helpers for Bun tests and benches. The librdkafka addon only runs under Node (see
 * src/sources/kafka/kafka-source.ts), so producing goes through a Node child (kafka-produce.ts).
 */
import { kafkaWorkerNode } from "../../src/sources/kafka/kafka-source.ts";
import type { ProduceJob, ProduceResult } from "./kafka-produce.ts";

export type { ProduceJob, ProduceResult };

/** Time to allow a beforeAll that may compile the Kafka client from source (fresh machine). */
export const KAFKA_BUILD_TIMEOUT_MS = 600_000;

const BUILD = new URL("../../scripts/build-kafka.sh", import.meta.url).pathname;
const PRODUCE = new URL("./kafka-produce.ts", import.meta.url).pathname;

/** Builds @confluentinc/kafka-javascript if needed (a no-op taking ~0.1 s once built). */
export async function ensureKafkaClient(): Promise<void> {
  const proc = Bun.spawn(["bash", BUILD], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited,
  ]);
  if (code !== 0) throw new Error(`scripts/build-kafka.sh exited ${code}\n${out}${err}`);
}

/** A producer running in the background. */
export interface RunningProducer {
  /** Resolves with the broker acknowledgements once every message is delivered or failed. */
  done: Promise<ProduceResult>;
  /** Kills the producer process. */
  kill(): void;
}

/** Starts producing in a Node child; see ProduceJob for the message layout. */
export function startProducer(job: ProduceJob): RunningProducer {
  const proc = Bun.spawn([kafkaWorkerNode(), PRODUCE, JSON.stringify(job)], { stdout: "pipe", stderr: "pipe" });
  const done = (async () => {
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited,
    ]);
    let result: ProduceResult | undefined;
    try {
      result = JSON.parse(out.trim().split("\n").pop()!) as ProduceResult;
    } catch {
      // no result line: reported below
    }
    // librdkafka occasionally segfaults (~1 in 50 runs) while tearing down the admin client at
    // exit, after every acknowledgement arrived; the result line is then still complete.
    const expected = job.values?.length ?? job.count;
    if (result && (code === 0 || result.delivered + result.failed === expected)) return result;
    throw new Error(`kafka-produce exited ${code}\n${out}${err}`);
  })();
  return { done, kill: () => proc.kill() };
}

/** Produces and waits for every acknowledgement. */
export function produceKafka(job: ProduceJob): Promise<ProduceResult> {
  return startProducer(job).done;
}

/** Resolves when `cond()` holds, polling every 20 ms; rejects after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(20);
  }
}
