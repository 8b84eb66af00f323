/**
 * Verifies signed private frames (protocol/signature.ts) with the keys of `GET /realtime/keys`,
 * by key id, through WebCrypto Ed25519 (browsers, Bun, Node >= 22). An unknown key id refetches
 * the key set (at most every 10 s, for rotations); a frame that does not verify is reported as an
 * error by the caller and never delivered as data.
 */
import { signedMessage, type SignedPart } from "../../protocol/signature.ts";

/** One key of `GET /realtime/keys`. */
export interface SigningJwk {
  kty: string;
  crv: string;
  kid: string;
  x: string;
}

/** Refetches the key set no more often than this. */
const REFETCH_MS = 10_000;

/** Ed25519 verification of frames, keys fetched lazily. */
export class SignatureVerifier {
  private readonly keys = new Map<string, Promise<CryptoKey>>();
  private fetching?: Promise<void>;
  private lastFetch = 0;

  constructor(private readonly fetchKeys: () => Promise<{ keys: SigningJwk[] }>) {}

  /** True when `part` verifies for `stream`/`seq`; false on a bad signature or an unknown key. */
  async verify(stream: string, seq: number, part: SignedPart): Promise<boolean> {
    let key = this.keys.get(part.kid);
    if (!key) {
      await this.refresh();
      key = this.keys.get(part.kid);
      if (!key) return false;
    }
    let sig: Uint8Array<ArrayBuffer>;
    try {
      sig = fromBase64url(part.sig);
    } catch {
      return false;
    }
    return crypto.subtle.verify("Ed25519", await key, sig, signedMessage(stream, seq, part.data) as Uint8Array<ArrayBuffer>);
  }

  private refresh(): Promise<void> {
    if (this.fetching) return this.fetching;
    if (Date.now() - this.lastFetch < REFETCH_MS) return Promise.resolve();
    this.lastFetch = Date.now();
    this.fetching = this.fetchKeys()
      .then(({ keys }) => {
        for (const k of keys) {
          if (k.kty !== "OKP" || k.crv !== "Ed25519" || this.keys.has(k.kid)) continue;
          const imported = crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: k.x }, { name: "Ed25519" }, false, ["verify"]);
          imported.catch(() => this.keys.delete(k.kid));
          this.keys.set(k.kid, imported);
        }
      })
      .finally(() => (this.fetching = undefined));
    return this.fetching;
  }
}

function fromBase64url(s: string): Uint8Array<ArrayBuffer> {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
