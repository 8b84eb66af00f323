/** One routed event of one stream, numbered and ready to encode: what is logged and fanned out. */
export interface StreamEvent {
  /** Stream name, e.g. "trades.btc_usdt" or "orders.user123". */
  stream: string;
  /** Strictly increasing within the stream. */
  seq: number;
  /** The previous `seq` of this stream (0 when none), so clients see gaps even when seq is sparse. */
  prev: number;
  /** The payload as JSON text, already transformed; encoded into frames without re-parsing. */
  data: string;
  /** Producer/source event time, ms since epoch; 0 when unknown. */
  sourceTs: number;
  /** When the gateway received it, ms since epoch. */
  gatewayTs: number;
  /**
   * `data` parsed, when the pipeline already has it (the router parsed it): the FlatBuffers encoder
   * then skips a second parse. Never logged; cleared once the event is fanned out.
   */
  value?: unknown;
}
