/**
 * Signed private frames: with a signing key configured, every `orders.<userId>` data frame carries
 * an Ed25519 signature (`sig`, base64url) and the id of the key (`kid`, see GET /realtime/keys)
 * over the bytes `signedMessage` builds from its exact stream, seq and data text. The data text is
 * what the JSON frame carries after `"data":` (JSON frames put `kid` and `sig` before `data`) and
 * what a FlatBuffers frame carries as RawJson (signed frames always use it).
 */

/** What a client needs to verify one frame. */
export interface SignedPart {
  kid: string;
  /** base64url Ed25519 signature. */
  sig: string;
  /** The exact data text that was signed. */
  data: string;
}

const enc = new TextEncoder();

/** `<stream>\n<seq>\n<data>` as UTF-8: the bytes a frame's signature covers. */
export function signedMessage(stream: string, seq: number, data: string): Uint8Array {
  return enc.encode(`${stream}\n${seq}\n${data}`);
}

/** Key ids and signatures travel as these characters only, so a frame's text can be cut reliably. */
export const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The marker JSON signed frames put right before their data text. */
export const JSON_DATA_MARKER = ',"data":';

/**
 * The signed part of a JSON data frame's text, or undefined when it carries no signature. The
 * gateway writes `{"stream":..,"seq":..,"prev":..,"kid":..,"sig":..,"data":<data>}`.
 */
export function signedPartOfJson(text: string, frame: { kid?: unknown; sig?: unknown }): SignedPart | undefined {
  if (typeof frame.kid !== "string" || typeof frame.sig !== "string") return undefined;
  const i = text.indexOf(JSON_DATA_MARKER);
  if (i < 0 || !text.endsWith("}")) return undefined;
  return { kid: frame.kid, sig: frame.sig, data: text.slice(i + JSON_DATA_MARKER.length, -1) };
}
