/** Publishing a known flow of events, and comparing the seqs clients got with what was published. */

/**
 * Publishes events round-robin over `streams` in the background (`perTick` events every
 * `intervalMs`) until stopped, recording every published seq and payload per stream, so a test
 * can compare what clients received with exactly what was published.
 */
export class EventFlow {
  readonly published = new Map<string, { seq: number; data: Record<string, unknown> }[]>();
  private running = false;
  private loop?: Promise<void>;
  /** Why the background loop stopped early, if it did. */
  error?: Error;
  private n = 0;

  constructor(
    private readonly publishFn: (events: { stream: string; data: unknown }[]) => number[] | Promise<number[]>,
    readonly streams: string[],
    private readonly opts: { perTick?: number; intervalMs?: number; pad?: number } = {},
  ) {
    for (const s of streams) this.published.set(s, []);
  }

  /** Publishes one batch of `count` events now (round-robin over the streams). */
  async publishBatch(count = this.opts.perTick ?? 4): Promise<void> {
    const pad = this.opts.pad ? "p".repeat(this.opts.pad) : undefined;
    const events = Array.from({ length: count }, () => {
      const n = ++this.n;
      const stream = this.streams[n % this.streams.length]!;
      return { stream, data: pad ? { n, pad } : { n } };
    });
    const seqs = await this.publishFn(events);
    events.forEach((e, i) => this.published.get(e.stream)!.push({ seq: seqs[i]!, data: e.data }));
  }

  start(): this {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.publishBatch();
        } catch (e) {
          // The gateway went away under a failing test: stop quietly, the test reports its own failure.
          this.error = e as Error;
          this.running = false;
          return;
        }
        await Bun.sleep(this.opts.intervalMs ?? 2);
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  seqs(stream: string): number[] {
    return this.published.get(stream)!.map((e) => e.seq);
  }

  head(stream: string): number {
    return this.published.get(stream)!.at(-1)?.seq ?? 0;
  }

  /** Total events published. */
  get count(): number {
    return this.n;
  }
}

/** Checks that `got` is exactly the run `expected` (same seqs in the same order); a message on mismatch. */
export function diffSeqs(got: number[], expected: number[]): string | undefined {
  if (got.length === expected.length && got.every((s, i) => s === expected[i])) return undefined;
  const dup = got.filter((s, i) => got.indexOf(s) !== i);
  const set = new Set(got);
  const missing = expected.filter((s) => !set.has(s));
  const exp = new Set(expected);
  const extra = got.filter((s) => !exp.has(s));
  const outOfOrder = got.findIndex((s, i) => i > 0 && s <= got[i - 1]!);
  return `got ${got.length} seqs, expected ${expected.length}; missing ${JSON.stringify(missing.slice(0, 10))}${missing.length > 10 ? "..." : ""} (${missing.length}), duplicated ${JSON.stringify(dup.slice(0, 10))}, unexpected ${JSON.stringify(extra.slice(0, 10))}, first out-of-order index ${outOfOrder}`;
}

/** [from, from+1, ..., to]. */
export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}
