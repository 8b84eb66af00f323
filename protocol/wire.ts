/** Names both ends of a connection must agree on: formats, subprotocols, the token subprotocol. */

/** Wire format negotiated at the upgrade: JSON text frames or FlatBuffers binary frames. */
export type WireFormat = "json" | "fb";

/** Subprotocol that selects JSON text frames. */
export const PROTOCOL_JSON = "cex.v1.json";
/** Subprotocol that selects FlatBuffers binary frames (schema v2, schema/frames.fbs). */
export const PROTOCOL_FB = "cex.v2.fb";
/**
 * The retired subprotocol of FlatBuffers schema v1 clients: the gateway accepts it only to tell
 * such a client, in a frame it can read, that it must upgrade, and closes (1000).
 */
export const PROTOCOL_FB_V1 = "cex.v1.fb";

/** Subprotocol prefix that carries a bearer token for browsers, which cannot set headers. */
export const TOKEN_PROTOCOL_PREFIX = "bearer.";
