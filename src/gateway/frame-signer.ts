import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from "node:crypto";
import { KID_PATTERN, signedMessage } from "../../protocol/signature.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";
import type { FrameSignature } from "../codec/frame-signature.ts";

/** One published verification key, as `GET /realtime/keys` lists it (a JWK). */
export interface PublicSigningKey {
  kty: "OKP";
  crv: "Ed25519";
  alg: "EdDSA";
  use: "sig";
  kid: string;
  x: string;
}

/**
 * Signs private data frames with the configured Ed25519 key (protocol/signature.ts). The last
 * event's signature is kept, so the JSON and FlatBuffers frames of one event share one signing.
 */
export class FrameSigner {
  readonly kid: string;
  readonly publicKey: PublicSigningKey;
  private readonly key: KeyObject;
  private lastEvent?: StreamEvent;
  private lastSig?: FrameSignature;

  constructor(privatePem: string, kid?: string) {
    this.key = createPrivateKey(privatePem);
    const pub = createPublicKey(this.key);
    const x = (pub.export({ format: "jwk" }) as { x: string }).x;
    this.kid = kid ?? createHash("sha256").update(x).digest("base64url").slice(0, 12);
    if (!KID_PATTERN.test(this.kid)) throw new Error(`signing key id "${this.kid}" must match ${KID_PATTERN}`);
    this.publicKey = publicJwk(this.kid, pub);
  }

  signatureFor(ev: StreamEvent): FrameSignature {
    if (ev === this.lastEvent && this.lastSig) return this.lastSig;
    const bytes = new Uint8Array(sign(null, signedMessage(ev.stream, ev.seq, ev.data === "" ? "null" : ev.data), this.key));
    const sig: FrameSignature = { kid: this.kid, bytes, b64: Buffer.from(bytes).toString("base64url") };
    this.lastEvent = ev;
    this.lastSig = sig;
    return sig;
  }
}

/** The JWK of an Ed25519 public key (PEM or KeyObject). */
export function publicJwk(kid: string, key: string | KeyObject): PublicSigningKey {
  const k = typeof key === "string" ? createPublicKey(key) : key;
  const x = (k.export({ format: "jwk" }) as { x: string }).x;
  return { kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig", kid, x };
}
