import { afterAll, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { MmapLogStore } from "../../src/log/mmap-log-store.ts";
import { expectRun, tempDir } from "./helpers.ts";

const S = "orders.user-42";
const CHILD = path.join(import.meta.dir, "fixtures", "append-until-killed.ts");
const dir = tempDir("kill9");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Ready {
  epoch: string;
  oldest: number;
  head: number;
  previousShutdown: string;
}

/** Runs the appending child until it reported `atLeast` more appends, then SIGKILLs it mid-batch. */
async function appendThenKill(atLeast: number): Promise<{ ready: Ready; lastReported: number }> {
  const child = Bun.spawn([process.execPath, CHILD, dir, S], { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let ready: Ready | undefined;
  let lastReported = 0;
  try {
    while (ready === undefined || lastReported < ready.head + atLeast) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`child exited early (code ${await child.exited})`);
      buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (ready === undefined) ready = JSON.parse(line) as Ready;
        else lastReported = Number(line);
      }
    }
    // Let it run into the middle of a batch: the kill lands while records are being written.
    await Bun.sleep(Math.random() * 5);
  } finally {
    child.kill("SIGKILL");
    await child.exited;
  }
  // Lines already in the pipe were written before the kill: the last one is the true lower bound.
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
  }
  for (const line of buffered.split("\n")) if (line !== "") lastReported = Number(line);
  expect(child.signalCode).toBe("SIGKILL");
  return { ready: ready!, lastReported };
}

test("kill -9 while appending: every record up to the last complete one survives, in order, uncorrupted", async () => {
  let epoch: string | undefined;
  let lastHead = 0;
  for (let round = 0; round < 5; round++) {
    const { ready, lastReported } = await appendThenKill(20_000);
    expect(ready.head).toBe(lastHead);
    epoch ??= ready.epoch;
    expect(ready.epoch).toBe(epoch);

    const store = new MmapLogStore({ dir, segments: 4, segmentBytes: 64 * 1024, maxEvents: 1_000_000 });
    try {
      expect(store.previousShutdown).toBe("process-crash");
      const log = store.get(S);
      const p = log.position();
      expect(p.epoch).toBe(epoch);
      // Everything reported was appended; at most the batch in flight (500) adds to it.
      expect(p.head).toBeGreaterThanOrEqual(lastReported);
      expect(p.head).toBeLessThanOrEqual(lastReported + 500);
      expect(p.oldest).toBeGreaterThan(1);
      expect(expectRun(log.readAfter(0, 1_000_000), S, p.oldest, p.head)).toBeUndefined();
      lastHead = p.head;
    } finally {
      store.close();
    }
  }
}, 60_000);
