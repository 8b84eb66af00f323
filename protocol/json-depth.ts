/**
 * How deeply JSON nests, measured without recursion: a payload nested 50,000 levels parses fine
 * but overflows the stack of anything that walks it recursively (JSON.stringify, encoders, the
 * client's code), so payloads are refused over a depth limit before anything walks them.
 */

/** Default most levels of nested arrays and objects in an event's data (MAX_PAYLOAD_DEPTH). */
export const DEFAULT_MAX_PAYLOAD_DEPTH = 32;

/**
 * Whether the JSON text `text` nests arrays and objects deeper than `limit`. Most texts have
 * fewer brackets than the limit, which native indexOf finds out fast; the others get one pass
 * over the characters (strings skipped), stopping as soon as the limit is passed. No recursion,
 * no allocation. Malformed text gets an answer too: refusing it is JSON.parse's job.
 */
export function jsonNestsDeeperThan(text: string, limit: number): boolean {
  let openers = 0;
  for (let i = text.indexOf("{"); i !== -1 && openers <= limit; i = text.indexOf("{", i + 1)) openers++;
  for (let i = text.indexOf("["); i !== -1 && openers <= limit; i = text.indexOf("[", i + 1)) openers++;
  if (openers <= limit) return false;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/** Nesting depth of a parsed JSON value, counted up to `cap + 1`, with an explicit stack. */
export function jsonValueDepth(value: unknown, cap: number): number {
  if (value === null || typeof value !== "object") return 0;
  const stack: [object, number][] = [[value, 1]];
  let max = 0;
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (d > max && (max = d) > cap) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === "object") stack.push([child, d + 1]);
    }
  }
  return max;
}
