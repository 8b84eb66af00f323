import type { AuthErrorCode } from "../../../protocol/error-codes.ts";

/** Who a connection is, as established at the upgrade. */
export interface Identity {
  /** Present for JWT and API-key clients; absent for anonymous ones. */
  userId?: string;
  roles: string[];
  /** Public pairs this client may see; undefined means all public pairs. */
  pairs?: string[];
  via: "jwt" | "api_key" | "anonymous";
  /** Credential expiry, ms since epoch, when known. */
  expiresAt?: number;
  /** JWT `iat`, ms since epoch: a user revocation refuses tokens issued up to it. */
  issuedAt?: number;
  /** JWT `jti`, for revoking one token. */
  jti?: string;
}

/** Authentication refused, with a short reason the client sees (never the credential). */
export class AuthError extends Error {
  constructor(
    /** Bounded label for metrics and logs. */
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "AuthError";
  }
}
