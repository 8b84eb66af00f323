import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamClient } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../../util/logger.ts";
import type { RevocationChannel } from "./revocation-channel.ts";
import { parseRevocation, type Revocation } from "./revocation-list.ts";

/**
 * Revocations in a JetStream stream `<name>` (subjects `<name>.user.*` / `<name>.jti.*`, the last
 * message per subject kept, messages dropped after the revocation TTL). Every gateway reads it
 * with an ordered consumer from the first message: a gateway that starts later replays every
 * revocation still in force, then follows new ones.
 */
export class NatsRevocationChannel implements RevocationChannel {
  readonly kind = "nats";
  private nc?: NatsConnection;
  private js?: JetStreamClient;
  private iter?: ConsumerMessages;
  private readonly enc = new TextEncoder();
  private readonly dec = new TextDecoder();

  constructor(
    private readonly url: string,
    private readonly name: string,
    private readonly ttlSec: number,
    private readonly log: Logger,
  ) {}

  async start(onRevocation: (r: Revocation) => void): Promise<void> {
    this.nc = await connect({ servers: this.url, name: "cex-ws-gateway:revocations", reconnect: true, maxReconnectAttempts: -1 });
    const jsm = await jetstreamManager(this.nc);
    const spec = { name: this.name, subjects: [`${this.name}.>`], max_age: this.ttlSec * 1e9, max_msgs_per_subject: 1 };
    const info = await jsm.streams.info(this.name).catch(() => undefined);
    if (!info) await jsm.streams.add(spec);
    else if (info.config.max_age !== spec.max_age) await jsm.streams.update(this.name, { ...info.config, max_age: spec.max_age, max_msgs_per_subject: 1 });
    this.js = jetstream(this.nc);
    const consumer = await this.js.consumers.get(this.name, { deliver_policy: DeliverPolicy.All });
    let caughtUp!: () => void;
    const ready = new Promise<void>((r) => (caughtUp = r));
    const stored = (await jsm.streams.info(this.name)).state.messages;
    if (stored === 0) caughtUp();
    this.iter = await consumer.consume({
      callback: (m) => {
        const r = parseRevocation(this.dec.decode(m.data));
        if (r) onRevocation(r);
        else this.log.warn("revocation_malformed", { backend: "nats" });
        if (m.info.pending === 0) caughtUp();
      },
    });
    await ready;
  }

  async publish(r: Revocation): Promise<void> {
    if (!this.js) throw new Error("revocation channel not started");
    const token = Buffer.from(r.value).toString("base64url");
    await this.js.publish(`${this.name}.${r.kind}.${token}`, this.enc.encode(JSON.stringify(r)));
  }

  async stop(): Promise<void> {
    this.iter?.stop();
    await this.nc?.close().catch(() => undefined);
  }
}
