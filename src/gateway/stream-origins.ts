/** Where a stream's events come from, learnt as they arrive; used by resume's source fallback. */
export interface StreamOrigin {
  source: string;
  origin: string;
  /** True when seq is the source position, so the source can replay by seq. */
  positional: boolean;
}

/**
 * The origin of every stream seen so far. Created before the log store and the pipeline, which
 * both use it: the pipeline records origins, the log store asks for a stream's epoch.
 */
export class StreamOrigins {
  private readonly byStream = new Map<string, StreamOrigin>();

  get(stream: string): StreamOrigin | undefined {
    return this.byStream.get(stream);
  }

  has(stream: string): boolean {
    return this.byStream.has(stream);
  }

  /** Records where `stream` comes from, the first time only. */
  learn(stream: string, origin: StreamOrigin): void {
    if (!this.byStream.has(stream)) this.byStream.set(stream, origin);
  }

  /** Forgets `stream` (its log was refused: the next event may learn it again). */
  delete(stream: string): void {
    this.byStream.delete(stream);
  }

  /**
   * Epoch of a stream numbered by its source: one per source origin, the same on every gateway;
   * undefined for a stream the gateway numbers itself (its log picks a random epoch).
   */
  epochOf(stream: string): string | undefined {
    const o = this.byStream.get(stream);
    return o?.positional ? `src:${o.source}:${o.origin}` : undefined;
  }
}
