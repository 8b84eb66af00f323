/**
 * A real gateway in a child process (`bun src/main.ts`, or another entry such as the web dev
 * server) for client tests: fixed port so it can be killed and restarted in place, a temp LOG_DIR
 * that survives the restart, known JWT_SECRET and ADMIN_TOKEN.
 */
import { SignJWT } from "jose";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(import.meta.dir, "../../..");
const BUN = process.execPath;

export const JWT_SECRET = "client-tests-secret-0123456789abcdef";
export const ADMIN_TOKEN = "client-tests-admin-token";

/** A port nobody listens on right now. */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const port = s.port!;
  s.stop(true);
  return port;
}

export function tempLogDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cex-clients-${tag}-`));
}

/** An HS256 token for `sub` that expires in `expiresInSec` seconds. */
export async function signToken(sub = "user1", expiresInSec = 3600): Promise<string> {
  return new SignJWT({ roles: ["trader"] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSec)
    .sign(new TextEncoder().encode(JWT_SECRET));
}

export interface GatewayProcessOptions {
  port: number;
  logDir: string;
  simulator?: boolean;
  /** Script to run, relative to the repo root. Default src/main.ts. */
  entry?: string;
  env?: Record<string, string>;
}

/** Children still running, killed if the test process exits without stopping them. */
const live = new Set<ReturnType<typeof Bun.spawn>>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export class GatewayProcess {
  proc?: ReturnType<typeof Bun.spawn>;
  /** Last lines of the child's output, for failure messages. */
  readonly output: string[] = [];
  starts = 0;

  constructor(readonly opts: GatewayProcessOptions) {}

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.opts.port}/ws`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.opts.port}`;
  }

  async start(timeoutMs = 15_000): Promise<void> {
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      PORT: String(this.opts.port),
      HOST: "127.0.0.1",
      LOG_DIR: this.opts.logDir,
      SIMULATOR: this.opts.simulator ? "1" : "0",
      JWT_SECRET,
      ADMIN_TOKEN,
      LOG_LEVEL: "warn",
      SHUTDOWN_GRACE_MS: "2000",
      ...this.opts.env,
    };
    const proc = Bun.spawn([BUN, path.join(ROOT, this.opts.entry ?? "src/main.ts")], {
      cwd: ROOT,
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
    this.proc = proc;
    live.add(proc);
    void proc.exited.then(() => live.delete(proc));
    this.starts++;
    void this.collect(proc.stdout as ReadableStream<Uint8Array>);
    void this.collect(proc.stderr as ReadableStream<Uint8Array>);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`gateway exited ${proc.exitCode}:\n${this.output.join("\n")}`);
      try {
        const r = await fetch(`${this.httpUrl}/healthz`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      await Bun.sleep(50);
    }
    throw new Error(`gateway not healthy within ${timeoutMs} ms:\n${this.output.join("\n")}`);
  }

  /** Stops the child: SIGTERM drains (clients get 1012), SIGKILL drops every socket (1006). */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    p.kill(signal);
    await p.exited;
  }

  async restart(signal: "SIGTERM" | "SIGKILL" = "SIGKILL"): Promise<void> {
    await this.stop(signal);
    await this.start();
  }

  /** POST /publish; returns the seq each event got. */
  async publish(events: { stream: string; data: unknown }[]): Promise<{ stream: string; seq: number }[]> {
    const r = await fetch(`${this.httpUrl}/publish`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(events),
    });
    if (r.status !== 202) throw new Error(`publish: ${r.status} ${await r.text()}`);
    const body = (await r.json()) as { results: ({ stream: string; seq: number } | { error: string })[] };
    return body.results.map((x) => {
      if ("error" in x) throw new Error(`publish skipped: ${x.error}`);
      return x;
    });
  }

  private async collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    const reader = stream.getReader();
    try {
      for (;;) {
        const { value: chunk, done } = await reader.read();
        if (done) return;
        for (const line of dec.decode(chunk, { stream: true }).split("\n")) {
          if (!line) continue;
          this.output.push(line);
          if (this.output.length > 200) this.output.shift();
        }
      }
    } catch {
      // the child went away
    }
  }
}

/** Polls `cond` every 20 ms until it holds; throws with `what` after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** A trade payload numbered `i` (matches the Trade table exactly, so fb sends it typed). */
export function trade(i: number): { id: number; price: string; qty: string; side: "buy" | "sell"; timestamp: number } {
  return { id: i, price: (100 + i / 100).toFixed(2), qty: "0.5", side: i % 2 ? "buy" : "sell", timestamp: Date.now() };
}
