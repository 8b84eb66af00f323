import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Every Prometheus metric the gateway exports. Labels are bounded: stream kinds, sources, close
 * labels and reasons, never user ids or per-pair stream names.
 */
export class GatewayMetrics {
  readonly registry = new Registry();

  readonly connections = new Gauge({ name: "gateway_connections", help: "Open WebSocket connections", registers: [this.registry] });
  readonly connectionsOpened = new Counter({ name: "gateway_connections_opened_total", help: "Accepted WebSocket connections", labelNames: ["auth"] as const, registers: [this.registry] });
  readonly connectionsClosed = new Counter({ name: "gateway_connections_closed_total", help: "Closed connections by close code label", labelNames: ["code", "reason"] as const, registers: [this.registry] });
  readonly upgradesRejected = new Counter({ name: "gateway_upgrades_rejected_total", help: "Refused upgrades by reason", labelNames: ["reason"] as const, registers: [this.registry] });
  readonly authFailures = new Counter({ name: "gateway_auth_failures_total", help: "Authentication failures by reason", labelNames: ["reason"] as const, registers: [this.registry] });
  readonly clientMessages = new Counter({ name: "gateway_client_messages_total", help: "Client requests by action", labelNames: ["action"] as const, registers: [this.registry] });
  readonly clientErrors = new Counter({ name: "gateway_client_errors_total", help: "Error frames sent by code", labelNames: ["code"] as const, registers: [this.registry] });
  readonly rateLimited = new Counter({ name: "gateway_rate_limited_total", help: "Client requests refused by the per-connection rate limit", registers: [this.registry] });
  readonly subscriptions = new Gauge({ name: "gateway_subscriptions", help: "Active stream subscriptions by stream kind", labelNames: ["kind"] as const, registers: [this.registry] });
  readonly eventsIn = new Counter({ name: "gateway_events_in_total", help: "Events routed in, by source and stream kind", labelNames: ["source", "kind"] as const, registers: [this.registry] });
  readonly eventsSkipped = new Counter({ name: "gateway_events_skipped_total", help: "Source messages skipped, by source and reason", labelNames: ["source", "reason"] as const, registers: [this.registry] });
  readonly framesOut = new Counter({ name: "gateway_frames_out_total", help: "Frames fanned out to clients, by stream kind and format", labelNames: ["kind", "format"] as const, registers: [this.registry] });
  readonly bytesOut = new Counter({ name: "gateway_bytes_out_total", help: "Payload bytes fanned out to clients, by format", labelNames: ["format"] as const, registers: [this.registry] });
  readonly slowConsumerDrops = new Counter({ name: "gateway_slow_consumer_drops_total", help: "Clients dropped for exceeding the send buffer", registers: [this.registry] });
  readonly resumes = new Counter({ name: "gateway_resumes_total", help: "Resume requests by result", labelNames: ["result"] as const, registers: [this.registry] });
  readonly replayedEvents = new Counter({ name: "gateway_replayed_events_total", help: "Events sent by resume and replay", registers: [this.registry] });
  readonly batchSize = new Histogram({
    name: "gateway_batch_size",
    help: "Events per source batch published in one tick",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
    registers: [this.registry],
  });
  readonly ingestLatency = new Histogram({
    name: "gateway_source_to_gateway_seconds",
    help: "Source event time to gateway receive, sampled per batch (last event)",
    labelNames: ["source"] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly publishLatency = new Histogram({
    name: "gateway_receive_to_publish_seconds",
    help: "Gateway receive to publish done for a whole batch",
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
