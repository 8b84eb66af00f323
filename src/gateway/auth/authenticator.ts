import type { AuthConfig } from "../../config/config.ts";
import { ApiKeyStore } from "./api-key-store.ts";
import type { Credentials } from "./credentials.ts";
import { AuthError, type Identity } from "./identity.ts";
import { JwtVerifier } from "./jwt-verifier.ts";
import { WsTokenIssuer } from "./ws-token-issuer.ts";

/** Turns upgrade credentials into an Identity, or refuses with an AuthError. */
export class Authenticator {
  private readonly jwt: JwtVerifier;
  private readonly apiKeys?: ApiKeyStore;
  /** Mints and verifies the gateway's own short-lived WebSocket tokens. */
  readonly wsTokens: WsTokenIssuer;

  constructor(
    private readonly cfg: AuthConfig,
    apiKeys?: ApiKeyStore,
    /** Revocations in force (revocation-list.ts); a revoked credential is refused like a bad one. */
    private readonly isRevoked: (who: Identity) => boolean = () => false,
  ) {
    this.jwt = new JwtVerifier(cfg.jwt);
    this.wsTokens = new WsTokenIssuer(cfg);
    this.apiKeys = apiKeys ?? (cfg.apiKeysFile ? ApiKeyStore.fromFile(cfg.apiKeysFile) : undefined);
  }

  async authenticate(c: Credentials): Promise<Identity> {
    const who = await this.verify(c);
    if (this.isRevoked(who)) throw new AuthError("revoked", "credential revoked");
    return who;
  }

  private async verify(c: Credentials): Promise<Identity> {
    if (c.token) {
      // The gateway's own tokens only ever verify with its own secret, never with the JWT keys.
      if (WsTokenIssuer.isWsToken(c.token)) return this.wsTokens.verifier.verify(c.token);
      if (!this.jwt.enabled) throw new AuthError("invalid_token", "tokens are not accepted here");
      return this.jwt.verify(c.token);
    }
    if (c.apiKey) {
      if (!this.apiKeys) throw new AuthError("invalid_api_key", "api keys are not accepted here");
      return this.apiKeys.verify(c.apiKey);
    }
    if (this.cfg.allowAnonymous) return { roles: [], via: "anonymous" };
    throw new AuthError("missing_credentials", "no token or api key");
  }
}
