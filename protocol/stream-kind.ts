/**
 * The kind of a stream, from the prefix of its name ("trades.btc_usdt" -> "trades"). It picks the
 * typed payload a codec may use; it is a bounded set, so it is also safe as a metric label.
 */
export type StreamKind = "trades" | "depth" | "ticker" | "orders" | "other";

/** Every StreamKind, e.g. to pre-create metric series. */
export const STREAM_KINDS: readonly StreamKind[] = ["trades", "depth", "ticker", "orders", "other"];

/**
 * Kind of `stream`: the part before the first "." when it is one of the known kinds and something
 * non-empty follows the dot; "other" for anything else (unknown prefix, no dot, empty rest).
 * The depth views `depth5.<pair>` and `depth20.<pair>` are of kind "depth".
 */
export function streamKind(stream: string): StreamKind {
  const dot = stream.indexOf(".");
  if (dot <= 0 || dot === stream.length - 1) return "other";
  switch (dot) {
    case 5:
      if (stream.startsWith("depth")) return "depth";
      break;
    case 6:
      if (stream.startsWith("depth5")) return "depth";
      if (stream.startsWith("trades")) return "trades";
      if (stream.startsWith("ticker")) return "ticker";
      if (stream.startsWith("orders")) return "orders";
      break;
    case 7:
      if (stream.startsWith("depth20")) return "depth";
      break;
  }
  return "other";
}
