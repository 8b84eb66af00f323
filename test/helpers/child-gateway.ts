/** The gateway as a child process (`bun src/main.ts`), for restart, kill -9 and SIGTERM tests. */
import { REPO_ROOT, testEnv, type Env } from "./test-env.ts";

/** A gateway running as `bun src/main.ts` in a child process. */
export interface ChildGateway {
  proc: ReturnType<typeof Bun.spawn>;
  port: number;
  /** Parsed JSON log lines from stdout so far. */
  lines: Record<string, unknown>[];
  stderr(): string;
  wsUrl(): string;
  /** Sends a signal; resolves with the exit code once the process is gone. */
  kill(signal: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number>;
}

/**
 * Spawns `bun src/main.ts` with `testEnv(env)` (LOG_LEVEL info, so the start line carries the
 * port) and resolves once it listens. Rejects with its output if it exits first.
 */
export async function spawnGateway(env: Env, timeoutMs = 15_000): Promise<ChildGateway> {
  // Only what the test sets (plus PATH/HOME/TMPDIR): settings of the developer's shell must not leak in.
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, ...testEnv({ LOG_LEVEL: "info", ...env }) })) {
    if (v !== undefined) fullEnv[k] = v;
  }
  const proc = Bun.spawn([process.execPath, "src/main.ts"], { cwd: REPO_ROOT, env: fullEnv, stdout: "pipe", stderr: "pipe" });
  const lines: Record<string, unknown>[] = [];
  let errText = "";
  let onLine: (() => void) | undefined;
  void (async () => {
    const dec = new TextDecoder();
    let rest = "";
    for await (const chunk of chunks(proc.stdout as ReadableStream<Uint8Array>)) {
      rest += dec.decode(chunk, { stream: true });
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const l of parts) {
        if (!l.startsWith("{")) continue;
        try {
          lines.push(JSON.parse(l) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
      onLine?.();
    }
  })();
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of chunks(proc.stderr as ReadableStream<Uint8Array>)) errText += dec.decode(chunk, { stream: true });
  })();
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`gateway child did not start within ${timeoutMs} ms: ${errText}`));
    }, timeoutMs);
    onLine = () => {
      const l = lines.find((x) => x.event === "gateway_started");
      if (l) {
        clearTimeout(timer);
        resolve(l);
      }
    };
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway child exited with ${code} before listening: ${errText}`));
    });
  });
  onLine = undefined;
  const port = Number(started.port);
  return {
    proc,
    port,
    lines,
    stderr: () => errText,
    wsUrl: () => `ws://127.0.0.1:${port}/ws`,
    async kill(signal) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await proc.exited;
      return proc.exitCode;
    },
    exited: proc.exited,
  };
}

async function* chunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    yield value;
  }
}

/** Runs `bun src/main.ts` to completion with `env` (not testEnv) and returns exit code and output. */
export async function runMain(env: Env, timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ PATH: process.env.PATH, HOME: process.env.HOME, ...env })) if (v !== undefined) fullEnv[k] = v;
  const proc = Bun.spawn([process.execPath, "src/main.ts"], { cwd: REPO_ROOT, env: fullEnv, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  return { code: proc.exitCode, stdout, stderr };
}
