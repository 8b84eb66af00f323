import net from "node:net";

/** A CIDR or a bare address as written in TRUSTED_PROXIES; undefined when it is not one. */
export function parseCidr(text: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | undefined {
  const [addr, bits, extra] = text.trim().split("/");
  if (extra !== undefined || !addr) return undefined;
  const v = net.isIP(addr);
  if (v === 0) return undefined;
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { address: addr, prefix, family: v === 4 ? "ipv4" : "ipv6" };
}
