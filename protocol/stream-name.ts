/**
 * The one syntactic rule for stream names, `kind.name`, and for the configured patterns that
 * say which names exist (`kind.*` or `kind.name`). Which names are known is the StreamPolicy's
 * business; this only says what a name may look like. Imports nothing: it belongs to the leaf.
 */

/** Longest stream name accepted anywhere (subscribe, /publish, bindings, logs). */
export const MAX_STREAM_NAME_LENGTH = 128;

const KIND = "[a-z0-9_-]+";
const NAME = "[a-zA-Z0-9_@:-]+";
const STREAM_NAME = new RegExp(`^${KIND}\\.${NAME}$`);
const STREAM_PATTERN = new RegExp(`^${KIND}\\.(?:${NAME}|\\*)$`);

/** Whether `s` is a well-formed stream name: `kind.name`, lower-case kind, at most 128 chars. */
export function isValidStreamName(s: string): boolean {
  return s.length <= MAX_STREAM_NAME_LENGTH && STREAM_NAME.test(s);
}

/** Whether `p` is a well-formed stream pattern: `kind.*` or an exact `kind.name`. */
export function isValidStreamPattern(p: string): boolean {
  return p.length <= MAX_STREAM_NAME_LENGTH && STREAM_PATTERN.test(p);
}
