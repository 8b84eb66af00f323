/**
 * Reading a bounded range of a RabbitMQ stream over AMQP 0-9-1, on a channel of its own so the
 * live consumer is never disturbed: the replay behind resume's source fallback.
 */
import type { ChannelModel, ConsumeMessage } from "amqplib";

/** An `x-stream-offset` consumer argument: a named point, an offset (long) or a time (seconds). */
export type StreamOffsetSpec = "first" | "last" | "next" | { "!": "long" | "timestamp"; value: number };

/** How long one replay may take before it fails (a partial answer would read as "nothing newer"). */
const REPLAY_TIMEOUT_MS = 15_000;

/** The stream offset RabbitMQ stamps on a delivery from a stream (`x-stream-offset` header). */
export function streamOffsetOf(m: ConsumeMessage): number | undefined {
  const v = m.properties.headers?.["x-stream-offset"];
  const n = typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : undefined;
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Messages of `queue` with offsets first..last that pass `keep`, oldest first, at most `limit`.
 * When retention already deleted `first`, the answer starts at the oldest retained message (the
 * caller sees the gap in the first position).
 */
export async function readStreamRange(
  conn: ChannelModel,
  queue: string,
  first: number,
  last: number,
  limit: number,
  keep: (m: ConsumeMessage) => boolean,
): Promise<ConsumeMessage[]> {
  const ch = await conn.createChannel();
  const out: ConsumeMessage[] = [];
  try {
    await ch.prefetch(Math.min(1000, Math.max(limit, 100)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`rabbitmq replay of ${queue} from ${first} timed out`)), REPLAY_TIMEOUT_MS);
      const done = (err?: Error) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      ch.once("close", () => done(new Error(`rabbitmq replay of ${queue}: channel closed`)));
      ch.consume(
        queue,
        (m) => {
          if (m === null) return done(new Error(`rabbitmq replay of ${queue}: consumer cancelled`));
          const off = streamOffsetOf(m);
          ch.ack(m);
          // A stream consumer starts at the chunk holding `first`: skip what precedes it.
          if (off === undefined || off < first || out.length >= limit) return;
          if (off <= last && keep(m)) out.push(m);
          if (off >= last || out.length >= limit) done();
        },
        { noAck: false, arguments: { "x-stream-offset": { "!": "long", value: first } } },
      ).catch(done);
    });
  } finally {
    await ch.close().catch(() => undefined);
  }
  return out;
}
