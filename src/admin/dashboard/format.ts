/** Number, byte, latency and age formatting of the dashboard ("–" for a missing value). */

/** 1234 -> "1234", 12345 -> "12.3k", 1.5e6 -> "1.50M". */
export function fmtNum(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(2) + "G";
  if (a >= 1e6) return (v / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (a >= 100 || Number.isInteger(v)) return Math.round(v).toString();
  return v.toFixed(1);
}

/** Bytes with a binary unit. */
export function fmtBytes(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? Math.round(v) : v.toFixed(v >= 100 ? 0 : 1)) + " " + u[i];
}

/** Milliseconds, down to µs. */
export function fmtMs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  if (v >= 1000) return (v / 1000).toFixed(2) + " s";
  if (v >= 10) return v.toFixed(0) + " ms";
  if (v >= 1) return v.toFixed(1) + " ms";
  return (v * 1000).toFixed(0) + " µs";
}

/** Seconds as a short age. */
export function fmtAge(sec: number | null | undefined): string {
  if (sec === null || sec === undefined) return "never";
  if (sec < 1) return "now";
  if (sec < 90) return Math.round(sec) + " s";
  if (sec < 5400) return Math.round(sec / 60) + " min";
  if (sec < 172800) return (sec / 3600).toFixed(1) + " h";
  return Math.round(sec / 86400) + " d";
}
