import { GatewayClientError } from "./client-error.ts";
import type { AuthenticatedAck, ClientRequest, ListFrame, PongAck, RequestId, UnsubscribedFrame } from "./types.ts";

/** A request whose answer is awaited. */
export type RequestKind = "ping" | "list" | "unsubscribe" | "auth";

interface Pending {
  kind: RequestKind;
  sentAt: number;
  resolve: (v: unknown) => void;
  reject: (err: Error) => void;
}

/** Request ids of one client, and the requests waiting for the answer carrying theirs. */
export class PendingRequests {
  private readonly pending = new Map<RequestId, Pending>();
  private lastId = 0;

  /** A fresh request id (requests whose answer is not awaited take one too). */
  nextId(): number {
    return ++this.lastId;
  }

  /** Sends the request built with a fresh id; resolves with its answer. Rejects when `send` fails. */
  request<T>(kind: RequestKind, build: (id: number) => ClientRequest, send: (req: ClientRequest) => boolean): Promise<T> {
    const id = this.nextId();
    return new Promise<T>((resolve, reject) => {
      if (!send(build(id))) {
        reject(new GatewayClientError("closed", "not connected"));
        return;
      }
      this.pending.set(id, { kind, sentAt: Date.now(), resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /**
   * Settles the request `f` answers: list -> its streams, pong -> round-trip ms, authenticated ->
   * the new exp, unsubscribed -> undefined.
   */
  answer(f: UnsubscribedFrame | ListFrame | PongAck | AuthenticatedAck): void {
    const p = f.id !== undefined ? this.pending.get(f.id) : undefined;
    if (!p) return;
    this.pending.delete(f.id!);
    p.resolve(f.event === "list" ? f.streams : f.event === "pong" ? Date.now() - p.sentAt : f.event === "authenticated" ? f.exp : undefined);
  }

  /** Fails request `id` with the error `err()` makes, when it is pending. */
  fail(id: RequestId, err: () => Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.reject(err());
  }

  /**
   * Settles everything pending as the connection ends: an unsubscribe is done (the gateway drops
   * the connection's streams anyway), anything else fails.
   */
  connectionClosed(): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      if (p.kind === "unsubscribe") p.resolve(undefined);
      else p.reject(new GatewayClientError("closed", "connection closed"));
    }
  }
}
