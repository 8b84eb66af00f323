import http from "node:http";

/**
 * Bun's HTTP parser answers a request whose head is over its limit (16 KiB by default) with a bare
 * 431 and no body, before any handler runs. The limit is process-wide (`--max-http-header-size`,
 * or node:http's `maxHeaderSize`, which Bun 1.4.5 lets us set and applies to Bun.serve), so the
 * gateway raises it to this ceiling and applies its own, lower limit in the fetch handler, where the
 * refusal can carry a JSON reason like every other. Only heads over the ceiling still get Bun's
 * bare 431.
 */
export const PARSER_HEAD_CEILING = 2 * 1024 * 1024;

/** Raises Bun's header limit so heads up to `ownLimit` (and well past it) reach the handler. */
export function raiseParserHeadLimit(ownLimit: number): void {
  const want = Math.max(PARSER_HEAD_CEILING, ownLimit * 2);
  if (http.maxHeaderSize < want) (http as { maxHeaderSize: number }).maxHeaderSize = want;
}

/** Bytes of the request line and headers, as near as the parsed request tells (UTF-16 units). */
export function requestHeadBytes(req: Request): number {
  let n = req.method.length + req.url.length + 12;
  req.headers.forEach((value, name) => {
    n += name.length + value.length + 4;
  });
  return n;
}
