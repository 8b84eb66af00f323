import net from "node:net";
import { parseCidr } from "../config/cidr.ts";

/**
 * The client's address behind proxies: the peer, unless the peer is a trusted proxy
 * (`TRUSTED_PROXIES`); then `X-Forwarded-For` read right to left, skipping trusted hops, gives
 * the right-most untrusted address (what a client cannot forge: every hop appends what it saw).
 */
export class ClientIpResolver {
  private readonly trusted = new net.BlockList();
  readonly enabled: boolean;

  constructor(cidrs: string[]) {
    for (const c of cidrs) {
      const p = parseCidr(c);
      if (!p) throw new Error(`TRUSTED_PROXIES: "${c}" is not an address or CIDR`);
      this.trusted.addSubnet(p.address, p.prefix, p.family);
    }
    this.enabled = cidrs.length > 0;
  }

  resolve(peer: string, forwardedFor: string | null): string {
    if (!this.enabled || !forwardedFor || !this.isTrusted(peer)) return peer;
    const hops = forwardedFor.split(",");
    let nearest = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalize(hops[i]!.trim());
      // Garbage in the header: the nearest address a trusted hop vouched for is the answer.
      if (net.isIP(hop) === 0) return nearest;
      if (!this.isTrusted(hop)) return hop;
      nearest = hop;
    }
    return nearest;
  }

  private isTrusted(ip: string): boolean {
    const v = net.isIP(ip);
    if (v === 0) return false;
    // An IPv4 peer can arrive as ::ffff:a.b.c.d on a dual-stack socket.
    if (v === 6 && ip.toLowerCase().startsWith("::ffff:") && net.isIP(ip.slice(7)) === 4) return this.trusted.check(ip.slice(7), "ipv4");
    return this.trusted.check(ip, v === 4 ? "ipv4" : "ipv6");
  }
}

/** `[v6]:port` and `v4:port` forms some proxies write, reduced to the address. */
function normalize(hop: string): string {
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracket) return bracket[1]!;
  const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4port ? v4port[1]! : hop;
}
