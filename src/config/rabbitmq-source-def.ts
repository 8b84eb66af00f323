/**
 * The `sources` entry of kind "rabbitmq": its settings (RabbitMqSource's configuration) and their
 * validation, a pure function like the other kinds' (source-defs.ts).
 *
 * Two modes, as RabbitMQ offers two kinds of queue:
 *  - "queue": every gateway declares its own exclusive, auto-delete classic queues bound to the
 *    exchange (seed 003's public and private queues). Nothing is replayable and a message that
 *    arrives while a gateway is disconnected is gone for that gateway, so these streams are
 *    gateway-numbered (like core NATS): a resume works against the gateway's own log.
 *  - "stream": one durable RabbitMQ stream (`x-queue-type: stream`) bound to the exchange, shared
 *    by every gateway, each reading it with its own offset. The stream offset is the position, so
 *    every gateway gives an event the same seq and a client resumes on any of them (like Kafka).
 */

/** One exclusive queue of a gateway (queue mode) and the routing-key patterns bound to it. */
export interface RabbitMqQueueDef {
  /** Label of the queue; the broker-side name adds the source name and a random suffix. */
  name: string;
  /** Topic-exchange binding patterns, e.g. "public.#", "private.*.order". */
  routingKeys: string[];
}

/** The durable stream read in stream mode. */
export interface RabbitMqStreamDef {
  /** Queue name of the stream; shared by every gateway of the fleet. */
  name: string;
  /** Binding patterns from the exchange into the stream. */
  routingKeys: string[];
  /** `x-max-age` retention, e.g. "7D" (applies when this gateway creates the stream). */
  maxAge?: string;
  /** `x-max-length-bytes` retention (applies when this gateway creates the stream). */
  maxLengthBytes?: number;
}

/** Configuration of a RabbitMqSource. */
export interface RabbitMqSourceConfig {
  /** AMQP URL, e.g. "amqp://guest:guest@127.0.0.1:5672/". */
  url: string;
  /** The topic exchange the producers publish to. */
  exchange: string;
  /** Declare the exchange (durable, topic) when missing (default true). */
  declareExchange?: boolean;
  mode: "queue" | "stream";
  /** Queue mode: this gateway's queues (default: seed 003's public.# and private.# queues). */
  queues?: RabbitMqQueueDef[];
  /** Stream mode: the stream to read. */
  stream?: RabbitMqStreamDef;
  /** Stream mode: start at the stream's first retained message instead of new ones (default "next"). */
  from?: "next" | "first";
  /** Unacknowledged messages in flight per consumer (default 2000); bounds one batch. */
  prefetch?: number;
}

/** Seed 003's topology: one queue for public events, one for every user's private events. */
export const DEFAULT_QUEUES: RabbitMqQueueDef[] = [
  { name: "public", routingKeys: ["public.#"] },
  { name: "private", routingKeys: ["private.#"] },
];

const NAME = /^[A-Za-z0-9_.:-]{1,200}$/;
/** Topic-exchange patterns: dot-separated words, `*` one word, `#` zero or more. */
const PATTERN = /^(#|\*|[A-Za-z0-9_:@-]+)(\.(#|\*|[A-Za-z0-9_:@-]+))*$/;

function routingKeyProblems(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || v.length === 0) return [`${where}: routingKeys must be a non-empty array`];
  return v.flatMap((k, i) => (typeof k === "string" && k.length <= 255 && PATTERN.test(k) ? [] : [`${where}.routingKeys[${i}]: not a topic pattern (words, *, # separated by dots)`]));
}

/** Problems with a `sources` entry of kind "rabbitmq" (empty when fine); `where` prefixes each. */
export function validateRabbitMqDef(d: Record<string, unknown>, where: string): string[] {
  const p: string[] = [];
  if (typeof d.url !== "string" || !/^amqps?:\/\//.test(d.url)) p.push(`${where}: rabbitmq needs url (amqp://...)`);
  if (typeof d.exchange !== "string" || !NAME.test(d.exchange)) p.push(`${where}: rabbitmq needs exchange (1-200 of [A-Za-z0-9_.:-])`);
  if (d.declareExchange !== undefined && typeof d.declareExchange !== "boolean") p.push(`${where}: declareExchange must be a boolean`);
  if (d.prefetch !== undefined && !(Number.isInteger(d.prefetch) && (d.prefetch as number) >= 1 && (d.prefetch as number) <= 65535)) {
    p.push(`${where}: prefetch must be an integer 1..65535`);
  }
  if (d.mode === "queue") {
    if (d.stream !== undefined || d.from !== undefined) p.push(`${where}: stream and from apply to mode "stream" only`);
    if (d.queues !== undefined) {
      if (!Array.isArray(d.queues) || d.queues.length === 0) p.push(`${where}: queues must be a non-empty array`);
      else {
        const names = new Set<string>();
        d.queues.forEach((q, i) => {
          const w = `${where}.queues[${i}]`;
          if (q === null || typeof q !== "object") return void p.push(`${w}: expected {name, routingKeys}`);
          const { name, routingKeys } = q as Record<string, unknown>;
          if (typeof name !== "string" || !NAME.test(name)) p.push(`${w}: name must be 1-200 of [A-Za-z0-9_.:-]`);
          else if (names.has(name)) p.push(`${w}: duplicate queue name "${name}"`);
          else names.add(name);
          p.push(...routingKeyProblems(routingKeys, w));
        });
      }
    }
  } else if (d.mode === "stream") {
    if (d.queues !== undefined) p.push(`${where}: queues apply to mode "queue" only`);
    const s = d.stream as Record<string, unknown> | undefined;
    if (s === null || typeof s !== "object") p.push(`${where}: stream mode needs stream {name, routingKeys}`);
    else {
      if (typeof s.name !== "string" || !NAME.test(s.name)) p.push(`${where}.stream: name must be 1-200 of [A-Za-z0-9_.:-]`);
      p.push(...routingKeyProblems(s.routingKeys, `${where}.stream`));
      if (s.maxAge !== undefined && (typeof s.maxAge !== "string" || !/^\d+[YMDhms]$/.test(s.maxAge))) p.push(`${where}.stream: maxAge must look like 7D, 12h, 30m`);
      if (s.maxLengthBytes !== undefined && !(Number.isSafeInteger(s.maxLengthBytes) && (s.maxLengthBytes as number) > 0)) {
        p.push(`${where}.stream: maxLengthBytes must be a positive integer`);
      }
    }
    if (d.from !== undefined && d.from !== "next" && d.from !== "first") p.push(`${where}: from must be "next" or "first"`);
  } else p.push(`${where}: rabbitmq mode must be "queue" or "stream"`);
  return p;
}
