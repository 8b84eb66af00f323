/**
 * The one place integration tests use to get real Kafka, NATS, Redis and RabbitMQ servers on loopback.
 *
 * Everything goes through scripts/services.sh so tests, developers and CI share one definition of
 * ports, data dirs and readiness checks. `start` is idempotent and serialised with a lock, so calling
 * `ensureServices` from every test file (or from two concurrent `bun test` runs) is cheap and safe.
 */

/** A server scripts/services.sh knows how to run. */
export type ServiceName = "kafka" | "nats" | "redis" | "rabbitmq";

/** Added to every port, as scripts/services.sh does: parallel work trees each get their own servers. */
const PORT_OFFSET = Number(process.env.SERVICES_PORT_OFFSET ?? 0);

/** Kafka bootstrap servers of the local single-node KRaft broker. */
export const KAFKA_BROKERS = `127.0.0.1:${19092 + PORT_OFFSET}`;
/** The same brokers as the list most Kafka client configs take. */
export const KAFKA_BROKER_LIST = [KAFKA_BROKERS];
/** NATS server URL (JetStream enabled). */
export const NATS_URL = `nats://127.0.0.1:${14222 + PORT_OFFSET}`;
/** NATS HTTP monitoring endpoint (/varz, /jsz, /healthz). */
export const NATS_MONITOR_URL = `http://127.0.0.1:${18222 + PORT_OFFSET}`;
/** Redis URL. */
export const REDIS_URL = `redis://127.0.0.1:${16379 + PORT_OFFSET}`;
/** RabbitMQ AMQP 0-9-1 URL (default vhost, guest may log in over loopback). */
export const RABBITMQ_URL = `amqp://guest:guest@127.0.0.1:${5672 + PORT_OFFSET}/`;

/**
 * Timeout (ms) to give a beforeAll/test that starts services: a cold Kafka install downloads jars
 * with Maven, and even a warm Kafka start is a JVM boot on a 2-core machine.
 */
export const SERVICES_TIMEOUT_MS = 180_000;

const SCRIPT = new URL("../../scripts/services.sh", import.meta.url).pathname;

/** Runs scripts/services.sh and throws with its output when it exits non-zero. */
export async function runServicesScript(args: string[]): Promise<string> {
  const proc = Bun.spawn(["bash", SCRIPT, ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) {
    throw new Error(`scripts/services.sh ${args.join(" ")} exited ${code}\n${out}${err}`);
  }
  return out;
}

/** Installs (if needed) and starts the named servers, resolving once each answers real requests. */
export async function ensureServices(names: ServiceName[] = ["kafka", "nats", "redis"]): Promise<void> {
  await runServicesScript(["start", ...names]);
}

/** Starts one server and waits until it is ready; a no-op when it already runs. */
export async function startService(name: ServiceName): Promise<void> {
  await runServicesScript(["start", name]);
}

/** Stops one server (data is kept, so a later start resumes the same topics/streams). */
export async function stopService(name: ServiceName): Promise<void> {
  await runServicesScript(["stop", name]);
}

/** Stops then starts one server, e.g. to test a source's reconnect mid-stream. */
export async function restartService(name: ServiceName): Promise<void> {
  await stopService(name);
  await startService(name);
}

/** True when the named server is up and answering (the script's `status` check). */
export async function isServiceRunning(name: ServiceName): Promise<boolean> {
  const proc = Bun.spawn(["bash", SCRIPT, "status", name], { stdout: "ignore", stderr: "ignore" });
  return (await proc.exited) === 0;
}
