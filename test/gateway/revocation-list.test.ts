/** Which credentials a revocation covers, and for how long. */
import { expect, test } from "bun:test";
import { parseRevocation, RevocationList } from "../../src/gateway/auth/revocation-list.ts";
import type { Identity } from "../../src/gateway/auth/identity.ts";

const NOW = 1_800_000_000_000;
const jwt = (userId: string, issuedAt?: number, jti?: string): Identity => ({ userId, roles: [], via: "jwt", issuedAt, jti });

test("a user revocation covers tokens issued up to it (and those without iat), until it ends", () => {
  const list = new RevocationList();
  expect(list.apply({ kind: "user", value: "alice", revokedAt: NOW, until: NOW + 60_000 }, NOW)).toBe(true);
  expect(list.isRevoked(jwt("alice", NOW - 1000), NOW)).toBe(true);
  expect(list.isRevoked(jwt("alice", NOW), NOW)).toBe(true);
  expect(list.isRevoked(jwt("alice"), NOW)).toBe(true);
  expect(list.isRevoked({ userId: "alice", roles: [], via: "api_key" }, NOW)).toBe(true);
  expect(list.isRevoked(jwt("alice", NOW + 1000), NOW + 1000)).toBe(false); // logged in again afterwards
  expect(list.isRevoked(jwt("bob", NOW - 1000), NOW)).toBe(false);
  expect(list.isRevoked({ roles: [], via: "anonymous" }, NOW)).toBe(false);
  expect(list.isRevoked(jwt("alice", NOW - 1000), NOW + 60_000)).toBe(false); // over
  list.prune(NOW + 60_000);
  expect(list.size).toBe(0);
});

test("a jti revocation covers that token only; a repeated or older revocation changes nothing", () => {
  const list = new RevocationList();
  const r = { kind: "jti" as const, value: "t1", revokedAt: NOW, until: NOW + 60_000 };
  expect(list.apply(r, NOW)).toBe(true);
  expect(list.apply(r, NOW)).toBe(false);
  expect(list.apply({ ...r, revokedAt: NOW - 5, until: NOW + 10 }, NOW)).toBe(false);
  expect(list.apply({ ...r, until: NOW - 1 }, NOW)).toBe(false);
  expect(list.isRevoked(jwt("alice", NOW + 5000, "t1"), NOW)).toBe(true);
  expect(list.isRevoked(jwt("alice", NOW - 5000, "t2"), NOW)).toBe(false);
});

test("stored or broadcast revocations that are malformed are ignored", () => {
  expect(parseRevocation('{"kind":"user","value":"a","revokedAt":1,"until":2}')).toEqual({ kind: "user", value: "a", revokedAt: 1, until: 2 });
  for (const bad of ["", "{", "null", '{"kind":"x","value":"a","revokedAt":1,"until":2}', '{"kind":"jti","value":"","revokedAt":1,"until":2}', '{"kind":"jti","value":"a","revokedAt":"1","until":2}']) {
    expect(parseRevocation(bad)).toBeUndefined();
  }
});
