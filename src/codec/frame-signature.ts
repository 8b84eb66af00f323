/** A data frame's signature as the encoders write it: computed once per event, used by both formats. */
export interface FrameSignature {
  kid: string;
  /** Raw Ed25519 signature (64 bytes). */
  bytes: Uint8Array;
  /** The same, base64url (the JSON frame's `sig`). */
  b64: string;
}
