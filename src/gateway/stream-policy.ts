import { isValidStreamName } from "../../protocol/stream-name.ts";
import type { StreamsConfig } from "../config/config.ts";
import type { Identity } from "./auth/identity.ts";

/** The verdict on one stream name for one identity. */
export type StreamVerdict = "ok" | "unknown_stream" | "forbidden";

/** What the event pipeline asks before a stream gets a log: does the name exist at all? */
export interface KnownStreams {
  isKnown(stream: string): boolean;
}

interface Pattern {
  kind: string;
  /** Exact second segment, or undefined for `*`. */
  name?: string;
  private: boolean;
}

/**
 * Decides which stream names exist and who may read them: private streams (`orders.<userId>`)
 * only for their owner, public streams limited to the identity's pairs.
 */
export class StreamPolicy implements KnownStreams {
  private readonly patterns: Pattern[];
  private readonly pairs?: Set<string>;

  constructor(cfg: StreamsConfig) {
    const parse = (p: string, priv: boolean): Pattern => {
      const [kind, name] = p.split(".", 2) as [string, string | undefined];
      return { kind, name: name === "*" ? undefined : name, private: priv };
    };
    this.patterns = [...cfg.private.map((p) => parse(p, true)), ...cfg.public.map((p) => parse(p, false))];
    this.pairs = cfg.pairs ? new Set(cfg.pairs) : undefined;
  }

  /** Whether `stream` names a private (per-user) stream, whoever asks. */
  isPrivate(stream: string): boolean {
    return this.match(stream)?.private ?? false;
  }

  /** Whether `stream` exists for someone: it matches a pattern (and a configured pair). */
  isKnown(stream: string): boolean {
    return this.known(stream) !== undefined;
  }

  check(stream: string, who: Identity): StreamVerdict {
    const m = this.known(stream);
    if (!m) return "unknown_stream";
    const name = baseName(stream, m.kind);
    if (m.private) return who.userId !== undefined && name === who.userId ? "ok" : "forbidden";
    if (who.pairs && !who.pairs.includes(name)) return "forbidden";
    return "ok";
  }

  /**
   * What `who` may read, for `GET /realtime/bootstrap`: concrete names where they are known (the
   * user's private streams, public streams of listed pairs), else patterns like `trades.*`.
   */
  readableBy(who: Identity): string[] {
    const out = new Set<string>();
    for (const p of this.patterns) {
      if (p.private) {
        if (who.userId !== undefined && (p.name === undefined || p.name === who.userId)) out.add(`${p.kind}.${who.userId}`);
        continue;
      }
      if (p.name !== undefined) {
        if (this.check(`${p.kind}.${p.name}`, who) === "ok") out.add(`${p.kind}.${p.name}`);
        continue;
      }
      const pairs = who.pairs ?? (this.pairs ? [...this.pairs] : undefined);
      if (!pairs) out.add(`${p.kind}.*`);
      else for (const pair of pairs) if (this.check(`${p.kind}.${pair}`, who) === "ok") out.add(`${p.kind}.${pair}`);
    }
    return [...out];
  }

  /** The pattern `stream` matches, if it names a stream that exists (whoever asks). */
  private known(stream: string): Pattern | undefined {
    const m = this.match(stream);
    if (!m || m.private || !this.pairs || m.name !== undefined) return m;
    return this.pairs.has(baseName(stream, m.kind)) ? m : undefined;
  }

  private match(stream: string): Pattern | undefined {
    if (!isValidStreamName(stream)) return undefined;
    const dot = stream.indexOf(".");
    const kind = stream.slice(0, dot);
    const name = stream.slice(dot + 1);
    for (const p of this.patterns) {
      if (p.kind === kind && (p.name === undefined || p.name === name || name.startsWith(p.name + "@"))) return p;
    }
    return undefined;
  }
}

/** The name part of `stream` without a view suffix: a view (`depth.btc_usdt@100ms`) exists and is allowed exactly when its stream is. */
function baseName(stream: string, kind: string): string {
  const at = stream.indexOf("@");
  return stream.slice(kind.length + 1, at < 0 ? undefined : at);
}
