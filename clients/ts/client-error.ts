import type { GatewayError } from "./types.ts";

/** What went wrong, for an error of the client. */
export type ClientErrorKind = "gateway" | "decode" | "token" | "heartbeat" | "connect" | "http" | "closed" | "signature";

/** An error reported through the "error" event or a rejected promise. */
export class GatewayClientError extends Error {
  readonly kind: ClientErrorKind;
  /** The gateway's error frame, for kind "gateway". */
  readonly frame?: GatewayError;
  /** HTTP status, for kind "http". */
  readonly status?: number;

  constructor(kind: ClientErrorKind, message: string, frame?: GatewayError, status?: number) {
    super(message);
    this.name = "GatewayClientError";
    this.kind = kind;
    this.frame = frame;
    this.status = status;
  }
}
