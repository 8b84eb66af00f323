import { SignJWT } from "jose";
import type { GatewayConfig } from "../../config/config.ts";

/**
 * In dev, when the JWT secret was generated for this run: a 12 h HS256 token (role trader) for the
 * first simulated user, good for this run only. Undefined with a configured secret or key.
 */
export async function demoToken(cfg: GatewayConfig): Promise<{ user: string; token: string } | undefined> {
  if (!cfg.jwtSecretGenerated || !cfg.auth.jwt.secret) return undefined;
  const key = new TextEncoder().encode(cfg.auth.jwt.secret);
  const user = cfg.simulator.users[0] ?? "user1";
  const token = await new SignJWT({ roles: ["trader"] }).setProtectedHeader({ alg: "HS256" }).setSubject(user).setIssuedAt().setExpirationTime("12h").sign(key);
  return { user, token };
}
