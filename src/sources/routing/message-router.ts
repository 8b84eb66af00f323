import type { SourceMessage } from "../source.ts";

/** A source message routed to a stream, with its payload as JSON text. */
export interface RoutedEvent {
  stream: string;
  data: string;
  /** Source position to use as seq (portable across gateways), or undefined to let the log number it. */
  seq?: number;
  sourceTs: number;
  /** `data` parsed, when the router parsed it anyway (see StreamEvent.value). */
  value?: unknown;
}

/** Why a message was not routed; a bounded label for metrics and once-per-kind logs. */
export type SkipReason = "malformed" | "unroutable" | "filtered" | "conflated" | "invalid_seq" | "too_deep";

/** Takes events a router releases later, outside route() (conflation's trailing edge). */
export type DeferredSink = (source: string, ev: RoutedEvent) => void;

/** Maps source messages to stream events; runs once per event, before fan-out. */
export interface MessageRouter {
  /**
   * Routes `msg` from the source named `source`, or says why it is skipped. `replay` is set when
   * the message is re-read from the source for a resume: stateful steps (conflation) are skipped.
   */
  route(source: string, msg: SourceMessage, replay?: boolean): RoutedEvent | SkipReason;
  /** Stops timers (conflation windows); nothing is released after it. */
  stop?(): void;
}
