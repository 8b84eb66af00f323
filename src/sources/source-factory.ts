import type { SourceDef } from "../config/source-defs.ts";
import type { Source } from "./source.ts";

/**
 * Builds a source from its definition. Backends load lazily, so a gateway without Kafka never
 * loads the Kafka client (which needs its native build).
 */
export async function createSource(def: SourceDef): Promise<Source> {
  const { name, kind, ...settings } = def;
  switch (kind) {
    case "kafka": {
      const { KafkaSource } = await import("./kafka/kafka-source.ts");
      return new KafkaSource({ name, ...(settings as Omit<ConstructorParameters<typeof KafkaSource>[0], "name">) });
    }
    case "nats": {
      const { NatsSource } = await import("./nats/nats-source.ts");
      return new NatsSource(name, { deliver: "new", ...settings } as unknown as ConstructorParameters<typeof NatsSource>[1]);
    }
    case "redis": {
      const { RedisStreamSource } = await import("./redis/redis-stream-source.ts");
      return new RedisStreamSource(name, { from: "$", ...settings } as unknown as ConstructorParameters<typeof RedisStreamSource>[1]);
    }
    case "rabbitmq": {
      const { RabbitMqSource } = await import("./rabbitmq/rabbitmq-source.ts");
      return new RabbitMqSource(name, settings as unknown as ConstructorParameters<typeof RabbitMqSource>[1]);
    }
  }
}
