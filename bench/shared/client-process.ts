/**
 * What every load-generating client process of the benches shares (bench/fanout/client.ts with raw
 * Bun WebSockets, bench/cluster/client.ts with the project's typed client): its config from the
 * environment, one HS256 token per simulated user, opening thousands of clients a bounded number
 * at a time with retries, and the destination address of each.
 */
import { SignJWT } from "jose";

/** Sockets one client process may hold: the per-process open-files cap is 20,000. */
export const MAX_SOCKETS_PER_PROCESS = 15_000;

/** Connections one destination address takes before ephemeral ports run short (28,000 here). */
export const MAX_CONNECTIONS_PER_ADDRESS = 25_000;

/** The JSON config a client process is started with, from env `name`. */
export function childConfig<T>(name: string): T {
  const raw = process.env[name];
  if (!raw) throw new Error(`${name} is not set: this file is started by its bench`);
  return JSON.parse(raw) as T;
}

/** Signs one HS256 JWT per user (`sub`), valid for an hour, as the gateway's auth expects. */
export function tokenSigner(secret: string): (sub: string) => Promise<string> {
  const key = new TextEncoder().encode(secret);
  return (sub) => new SignJWT({ roles: ["trader"] }).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setIssuedAt().setExpirationTime("1h").sign(key);
}

/**
 * Loopback destinations 127.0.0.1..127.0.0.n for `connections`: Bun's WebSocket client cannot bind
 * a source address, so spreading the destinations over 127.0.0.0/8 is what keeps each
 * (source, destination) pair under the ephemeral port range. More than one needs a 0.0.0.0 listener.
 */
export function loopbackHosts(connections: number): string[] {
  const n = Math.max(1, Math.ceil(connections / MAX_CONNECTIONS_PER_ADDRESS));
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
}

/** Outcome of opening a process's clients. */
export interface OpenResult {
  ok: number;
  failed: number;
  ms: number;
  /** Distinct failure messages with their counts, e.g. "3x timeout". */
  errors: string[];
}

/**
 * Opens clients `first` .. `first + count - 1` with `open(k)`, at most `concurrency` in flight (so
 * the gateways' accept loops are not flooded on a small machine), each tried up to `attempts`
 * times with a short pause between. Bounded: every `open` must settle (time out) by itself.
 */
export async function openAll(first: number, count: number, concurrency: number, open: (k: number) => Promise<void>, attempts = 3): Promise<OpenResult> {
  const t0 = performance.now();
  let next = 0;
  let ok = 0;
  let failed = 0;
  const errors = new Map<string, number>();
  const worker = async () => {
    while (next < count) {
      const k = first + next++;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          await open(k);
          ok++;
          break;
        } catch (err) {
          if (attempt === attempts) {
            failed++;
            const msg = (err as Error).message;
            errors.set(msg, (errors.get(msg) ?? 0) + 1);
          } else await Bun.sleep(50 * attempt);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  return { ok, failed, ms: performance.now() - t0, errors: [...errors].map(([m, n]) => `${n}x ${m}`) };
}

/** `clients` split over `procs` client processes: each one's first client and count. */
export function splitClients(clients: number, procs: number): { first: number; count: number }[] {
  const per = Math.ceil(clients / procs);
  const out: { first: number; count: number }[] = [];
  for (let first = 0; first < clients; first += per) out.push({ first, count: Math.min(per, clients - first) });
  return out;
}
