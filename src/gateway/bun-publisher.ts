import type { Server } from "bun";
import type { TopicPublisher } from "./fanout.ts";

/**
 * Bun's server.publish for the fan-out. The server exists only once the gateway listens, so the
 * gateway attaches it in start(); events published before that reach nobody (nobody is connected).
 */
export class BunTopicPublisher implements TopicPublisher {
  private server?: Server<unknown>;

  attach(server: Server<unknown>): void {
    this.server = server;
  }

  publish(topic: string, frame: string | Uint8Array): number {
    return this.server?.publish(topic, frame) ?? 0;
  }
}
