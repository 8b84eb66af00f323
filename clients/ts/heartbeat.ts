/** What a Heartbeat acts on: one socket's pings and received-message count. */
export interface HeartbeatHooks {
  /** False once the socket was replaced: the heartbeat then does nothing. */
  current(): boolean;
  /** Sends a ping. */
  ping(): void;
  /** Messages received so far (any kind). */
  received(): number;
  /** Nothing arrived within the timeout after a ping: the link is dead. */
  dead(): void;
}

/**
 * Pings every `intervalMs`; when nothing at all is received within `timeoutMs` after a ping, the
 * socket is declared dead. Any message counts, since data queued before the pong proves the link
 * alive as well.
 */
export class Heartbeat {
  private pingTimer?: ReturnType<typeof setInterval>;
  private pongTimer?: ReturnType<typeof setTimeout>;

  constructor(readonly intervalMs: number, readonly timeoutMs: number) {}

  start(hooks: HeartbeatHooks): void {
    this.pongTimer = undefined;
    this.pingTimer = setInterval(() => {
      if (!hooks.current()) return;
      const rxAtPing = hooks.received();
      hooks.ping();
      if (this.pongTimer !== undefined) return; // an earlier ping's deadline is still running
      this.pongTimer = setTimeout(() => {
        this.pongTimer = undefined;
        if (!hooks.current() || hooks.received() !== rxAtPing) return;
        hooks.dead();
      }, this.timeoutMs);
    }, this.intervalMs);
  }

  stop(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
  }
}
