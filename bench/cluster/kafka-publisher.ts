/**
 * Node child of bench/cluster/producer.ts for `--source kafka` (librdkafka does not load in Bun):
 * produces each line of stdin as one message to partition 0 of the run's topic, and prints
 * "<acked> <failed>" lines as delivery reports arrive. Env CLUSTER_KAFKA: {"brokers","topic"}.
 */
import Kafka from "@confluentinc/kafka-javascript";
import { createInterface } from "node:readline";

const cfg = JSON.parse(process.env.CLUSTER_KAFKA ?? "{}") as { brokers: string; topic: string };
const producer = new Kafka.Producer({ "bootstrap.servers": cfg.brokers, "linger.ms": 1, "enable.idempotence": true, acks: -1, dr_cb: true });
let acked = 0;
let failed = 0;
let reported = "";
const report = () => {
  const s = `${acked} ${failed}`;
  if (s !== reported) process.stdout.write(s + "\n");
  reported = s;
};
producer.on("delivery-report", (err: unknown) => {
  if (err) failed++;
  else acked++;
});
producer.on("event.error", (e: { message: string }) => console.error("kafka publisher:", e.message));
producer.connect({ timeout: 30_000 }, (err: unknown) => {
  if (err) {
    console.error("kafka publisher: connect failed", err);
    process.exit(2);
  }
  producer.setPollInterval(5);
  const timer = setInterval(report, 20);
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (line: string) => {
    try {
      producer.produce(cfg.topic, 0, Buffer.from(line), null, Date.now());
    } catch {
      failed++;
    }
  });
  rl.on("close", () => {
    producer.flush(10_000, () => {
      report();
      clearInterval(timer);
      producer.disconnect(() => process.exit(0));
    });
  });
});
