/**
 * The `data` of every depth-family frame (`depth.<pair>`, `depth.<pair>@100ms`, `depth5.<pair>`,
 * `depth20.<pair>`), as the gateway sends it in both formats, and the view names.
 */
import type { DepthData } from "../frames.ts";

/** "snapshot" (whole book, or a view's top N) or "update" (changed levels, qty "0" = removed). */
export type DepthFrameType = DepthData["type"];

/** `data` of a depth-family frame, as the gateway sends it in both formats. */
export type DepthPayload = DepthData;

/** The per-client views of `depth.<pair>` the gateway computes once per stream. */
export const DEPTH_VIEWS = {
  depth5: { prefix: "depth5.", levels: 5 },
  depth20: { prefix: "depth20.", levels: 20 },
} as const;

/** Suffix of the throttled diff view, `depth.<pair>@100ms`. */
export const THROTTLED_SUFFIX = "@100ms";
/** Conflation window of the throttled view. */
export const THROTTLED_MS = 100;

/** True for `depth.<pair>`, its `@100ms` view and `depth5.`/`depth20.` views: streams with a book. */
export function isDepthFamily(stream: string): boolean {
  return stream.startsWith("depth.") || stream.startsWith("depth5.") || stream.startsWith("depth20.");
}

/** True for the producer-fed `depth.<pair>` stream itself (not a view). */
export function isRawDepth(stream: string): boolean {
  return stream.startsWith("depth.") && !stream.endsWith(THROTTLED_SUFFIX);
}

/** True when `data` is a depth payload of type "snapshot". */
export function isDepthSnapshot(data: unknown): boolean {
  return typeof data === "object" && data !== null && (data as { type?: unknown }).type === "snapshot";
}
