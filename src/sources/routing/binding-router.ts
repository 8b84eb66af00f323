import { isValidStreamName } from "../../../protocol/stream-name.ts";
import { DEFAULT_MAX_PAYLOAD_DEPTH, jsonNestsDeeperThan } from "../../../protocol/json-depth.ts";
import type { SourceMessage } from "../source.ts";
import { parseBinding, parseBindings, type Binding, type StreamRule } from "../../config/bindings.ts";
import { Conflator } from "./conflator.ts";
import type { DeferredSink, MessageRouter, RoutedEvent, SkipReason } from "./message-router.ts";
import { EnvelopeRouter, eventTime } from "./envelope-router.ts";
import { compileTransforms, getPath, type CompiledTransform } from "./transforms.ts";

/** A binding compiled for the hot path. */
interface CompiledBinding {
  def: Binding;
  match: RegExp | undefined;
  transform?: CompiledTransform;
  conflator?: Conflator;
}

const decoder = new TextDecoder();

/**
 * Routes source messages through configured bindings (first match wins). A source without any
 * binding uses the envelope format (`{"stream","data"}`, else the origin as stream name). Bindings can
 * be replaced at runtime; events already published are unaffected.
 */
export class BindingRouter implements MessageRouter {
  private bySource = new Map<string, CompiledBinding[]>();
  private list: Binding[] = [];
  private readonly fallback: EnvelopeRouter;

  constructor(
    bindings: unknown[] = [],
    private readonly knownSources?: () => Set<string>,
    /** Most levels of nesting in an event's data; deeper messages are skipped as `too_deep`. */
    private readonly maxDepth = DEFAULT_MAX_PAYLOAD_DEPTH,
    /** Receives events released later by conflation (the pipeline's commit). */
    private readonly onDeferred?: DeferredSink,
  ) {
    this.fallback = new EnvelopeRouter(maxDepth);
    this.set(bindings);
  }

  bindings(): Binding[] {
    return this.list;
  }

  /** Replaces every binding atomically; throws BindingError (and keeps the old set) on a bad one. */
  set(raw: unknown[]): void {
    const defs = parseBindings(raw, this.knownSources?.());
    const next = new Map<string, CompiledBinding[]>();
    for (const def of defs) {
      const c: CompiledBinding = { def, match: def.match ? globToRegExp(def.match) : undefined, transform: compileTransforms(def.transforms) };
      if (def.conflateMs) c.conflator = new Conflator(def.conflateMs, (ev) => this.onDeferred?.(def.source, ev));
      let arr = next.get(def.source);
      if (!arr) next.set(def.source, (arr = []));
      arr.push(c);
    }
    for (const arr of this.bySource.values()) for (const c of arr) c.conflator?.stop();
    this.bySource = next;
    this.list = defs;
  }

  /** Adds or replaces one binding by id. */
  upsert(raw: unknown): Binding {
    const def = parseBinding(raw, this.knownSources?.());
    this.set([...this.list.filter((b) => b.id !== def.id), def]);
    return def;
  }

  /** Removes a binding; false when there was none with that id. */
  remove(id: string): boolean {
    if (!this.list.some((b) => b.id === id)) return false;
    this.set(this.list.filter((b) => b.id !== id));
    return true;
  }

  route(source: string, msg: SourceMessage, replay = false): RoutedEvent | SkipReason {
    const candidates = this.bySource.get(source);
    if (!candidates) return this.fallback.route(source, msg);
    const c = candidates.find((b) => !b.match || b.match.test(msg.origin));
    if (!c) return "unroutable";
    const text = typeof msg.value === "string" ? msg.value : decoder.decode(msg.value);
    const def = c.def;
    const seed = def.format === "seed";
    // The envelope of the seed format adds one level above the data.
    if (jsonNestsDeeperThan(text, this.maxDepth + (seed ? 1 : 0))) return "too_deep";
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return "malformed";
    }
    if (seed && (payload === null || typeof payload !== "object" || !("data" in payload))) return "malformed";
    const stream = streamName(def.stream, payload, msg, seed);
    if (!stream || !isValidStreamName(stream)) return "unroutable";
    let data: unknown = seed ? (payload as { data: unknown }).data : payload;
    if (c.transform) {
      data = c.transform(data);
      if (data === undefined) return "filtered";
    }
    let seq: number | undefined;
    if (def.seq === undefined || def.seq === "position") seq = msg.position;
    else if (def.seq !== "gateway") {
      const v = Number(getPath(payload, def.seq.field));
      if (!Number.isSafeInteger(v) || v <= 0) return "invalid_seq";
      seq = v;
    }
    const tsField = def.timeField ? getPath(data, def.timeField) : undefined;
    const sourceTs = typeof tsField === "number" ? tsField : eventTime(data, msg);
    // Untouched raw payloads keep the producer's exact text: no re-serialisation.
    const json = !seed && !c.transform ? text : JSON.stringify(data);
    const ev: RoutedEvent = { stream, data: json, seq, sourceTs, value: data };
    if (c.conflator && !replay && !c.conflator.offer(ev)) return "conflated";
    return ev;
  }

  stop(): void {
    for (const arr of this.bySource.values()) for (const c of arr) c.conflator?.stop();
  }
}

function streamName(rule: StreamRule | undefined, payload: unknown, msg: SourceMessage, seed: boolean): string | undefined {
  if (!rule) {
    const s = seed ? getPath(payload, "stream") : undefined;
    return typeof s === "string" ? s : msg.origin;
  }
  if ("fixed" in rule) return rule.fixed;
  if ("field" in rule) {
    const v = getPath(payload, rule.field);
    return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
  }
  let missing = false;
  const out = rule.template.replace(/\{([a-zA-Z0-9_.]+)\}/g, (_, name: string) => {
    let v: unknown;
    if (name === "origin") v = msg.origin;
    else if (name === "key") v = msg.key;
    else if (name.startsWith("origin.")) v = msg.origin.split(".")[Number(name.slice(7))];
    else if (name.startsWith("payload.")) v = getPath(payload, name.slice(8));
    if (typeof v !== "string" && typeof v !== "number") {
      missing = true;
      return "";
    }
    return String(v);
  });
  return missing ? undefined : out;
}

/** `*` matches one dot segment, `>` the rest (as NATS subjects); everything else literally. */
export function globToRegExp(glob: string): RegExp {
  const parts = glob.split(".").map((p) => (p === "*" ? "[^.]+" : p === ">" ? ".+" : p.replace(/[\\^$+?()[\]{}|*]/g, "\\$&")));
  return new RegExp("^" + parts.join("\\.") + "$");
}
