/**
 * Requests the fuzz suite found to break the parser: each must be an error answer, never a throw,
 * and never a parse of deep nesting (superlinear in JavaScriptCore: a 64 KiB frame of "[" took
 * ~100 ms of the event loop).
 */
import { expect, test } from "bun:test";
import { parseClientMessage } from "../../src/gateway/protocol.ts";

test.each([
  ['{"action":{"toString":1}}', "unknown_action"],
  ['{"action":{"valueOf":{},"toString":{}}}', "unknown_action"],
  ['{"action":["subscribe"]}', "unknown_action"],
  ['{"action":"subscribe","streams":[{"toString":1}]}', "bad_request"],
  ['{"action":"resume","positions":{"__proto__":1}}', "bad_request"],
  ["[".repeat(32_000), "bad_request"],
  ['{"action":"ping","x":' + "[".repeat(30_000) + "]".repeat(30_000) + "}", "bad_request"],
])("%s is answered %s", (text, code) => {
  const r = parseClientMessage(text);
  expect(r).toMatchObject({ error: code });
  expect(typeof (r as { message: string }).message).toBe("string");
  if (text.length > 1000) expect((r as { message: string }).message).toContain("nested deeper");
});

test("requests as deep as a real one still parse", () => {
  expect(parseClientMessage('{"action":"resume","positions":{"trades.btc_usdt":5},"epochs":{"trades.btc_usdt":"e"},"id":1}')).toMatchObject({ action: "resume" });
});
