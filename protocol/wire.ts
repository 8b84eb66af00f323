/** Names both ends of a connection must agree on: formats, subprotocols, the token subprotocol. */

/** Wire format negotiated at the upgrade: JSON text frames or FlatBuffers binary frames. */
export type WireFormat = "json" | "fb";

/** Subprotocol that selects JSON text frames. */
export const PROTOCOL_JSON = "cex.v1.json";
/** Subprotocol that selects FlatBuffers binary frames. */
export const PROTOCOL_FB = "cex.v1.fb";

/** Subprotocol prefix that carries a bearer token for browsers, which cannot set headers. */
export const TOKEN_PROTOCOL_PREFIX = "bearer.";
