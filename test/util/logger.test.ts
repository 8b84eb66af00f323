/** The logger hides secrets at any depth of what it is given, never only at the top level. */
import { expect, test } from "bun:test";
import { Logger } from "../../src/util/logger.ts";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyMSJ9.c2lnbmF0dXJlLWJ5dGVz";

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: new Logger("debug", {}, (l) => lines.push(l)), lines };
}

test("secret keys are hidden at every depth, in objects and arrays", () => {
  const { log, lines } = capture();
  log.info("x", {
    token: JWT,
    user: "u1",
    request: { headers: { authorization: `Bearer ${JWT}`, "x-api-key": "ak_live_123" }, nested: [{ password: "hunter2" }, { apiKey: "k" }] },
    source: { sasl: { username: "svc", password: "pw" }, url: "redis://svc:pw@127.0.0.1:6379/0?password=pw2" },
    revokedTokenGenerated: true,
  });
  const out = lines.join("\n");
  for (const secret of [JWT, "ak_live_123", "hunter2", ":pw@", "pw2", '"pw"']) expect(out).not.toContain(secret);
  const rec = JSON.parse(lines[0]!);
  expect(rec.user).toBe("u1");
  expect(rec.token).toBe("[redacted]");
  expect(rec.request.headers.authorization).toBe("[redacted]");
  expect(rec.request.nested[0].password).toBe("[redacted]");
  expect(rec.source.url).toContain("127.0.0.1:6379");
  expect(rec.revokedTokenGenerated).toBe(true);
});

test("credentials inside free text (an error message, a logged URL) are hidden", () => {
  const { log, lines } = capture();
  log.error("failed", { error: `jwt ${JWT} refused`, url: `/ws?token=${JWT}&format=json`, header: "Authorization: Bearer abc.def" });
  const rec = JSON.parse(lines[0]!);
  expect(lines[0]).not.toContain(JWT);
  expect(lines[0]).not.toContain("abc.def");
  expect(rec.error).toBe("jwt [redacted] refused");
  expect(rec.url).toBe("/ws?token=[redacted]&format=json");
});

test("child loggers' base fields are redacted too", () => {
  const { log, lines } = capture();
  log.child({ conn: { id: 1, credentials: { secret: "s3cr3t" } } }).info("y");
  expect(lines[0]).not.toContain("s3cr3t");
});
