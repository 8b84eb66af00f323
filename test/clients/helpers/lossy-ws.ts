/**
 * A WebSocket that loses chosen inbound messages, to show the client a real gap on a real
 * gateway. It wraps the global WebSocket and exposes only what GatewayClient uses.
 */
export type DropRule = (data: unknown) => boolean;

/** Changes an inbound message before the client sees it (tampering in transit). */
export type RewriteRule = (data: unknown) => unknown;

export function lossyWebSocket(drop: DropRule, rewrite?: RewriteRule): new (url: string, protocols?: string | string[]) => WebSocket {
  class LossyWebSocket {
    private readonly inner: WebSocket;
    onopen: ((ev: Event) => void) | null = null;
    onmessage: ((ev: MessageEvent) => void) | null = null;
    onclose: ((ev: CloseEvent) => void) | null = null;
    onerror: ((ev: Event) => void) | null = null;

    constructor(url: string, protocols?: string | string[]) {
      this.inner = new WebSocket(url, protocols);
      this.inner.onopen = (e) => this.onopen?.(e);
      this.inner.onmessage = (e) => {
        if (drop(e.data)) return;
        this.onmessage?.(rewrite ? ({ data: rewrite(e.data) } as MessageEvent) : e);
      };
      this.inner.onclose = (e) => this.onclose?.(e);
      this.inner.onerror = (e) => this.onerror?.(e);
    }
    get readyState(): number {
      return this.inner.readyState;
    }
    get binaryType(): BinaryType {
      return this.inner.binaryType;
    }
    set binaryType(v: BinaryType) {
      this.inner.binaryType = v;
    }
    send(data: string): void {
      this.inner.send(data);
    }
    close(code?: number, reason?: string): void {
      this.inner.close(code, reason);
    }
  }
  return LossyWebSocket as unknown as new (url: string, protocols?: string | string[]) => WebSocket;
}
