/**
 * A load-generating client process of bench/fanout.ts: opens `count` WebSockets (Bun's client)
 * to the bare server or the gateway, each with its own HS256 JWT and a few streams, then counts
 * every message it receives (per server process, learnt from the payload's `p`) and samples the
 * publish-to-receive latency from the payload's `pt`. Reports counts to the orchestrator every
 * 10 ms over IPC; sends its latency histogram when asked.
 * Started with FANOUT_CLIENT (ClientConfig JSON) and an IPC channel.
 */
import { childConfig, openAll, tokenSigner } from "../shared/client-process.ts";
import { clientStreams, dieWithParent, Histogram, streamPool, type ClientConfig, type FromClient, type ToClient } from "./common.ts";

dieWithParent(10 * 60_000);
const cfg = childConfig<ClientConfig>("FANOUT_CLIENT");
const send = (m: FromClient) => process.send?.(m);

const pool = streamPool(cfg.pool);
const counts: number[] = new Array(cfg.servers).fill(0);
const hist = new Histogram();
const sockets: WebSocket[] = [];
let sampleN = 0;
let closedAfterReady = 0;
const sampleMask = cfg.sampleMask;
const origin = performance.timeOrigin;

/** The hot path: one call per received frame. */
function makeHandler(): (e: MessageEvent) => void {
  let srv = -1;
  return (e: MessageEvent) => {
    const s = e.data as string;
    if (srv < 0) {
      const i = s.indexOf('"p":');
      if (i < 0) return; // a control frame
      srv = parseInt(s.slice(i + 4, i + 12), 10);
    }
    counts[srv]!++;
    if ((++sampleN & sampleMask) === 0) {
      const i = s.indexOf('"pt":');
      if (i > 0) hist.record((origin + performance.now() - parseFloat(s.slice(i + 5, i + 30))) * 1000);
    }
  };
}

const sign = tokenSigner(cfg.jwtSecret);

/** Opens client `k` and resolves once it is subscribed; rejects on failure or timeout. */
async function open(k: number): Promise<void> {
  const streams = clientStreams(k, cfg.streams, cfg.pool);
  const host = cfg.hosts[k % cfg.hosts.length]!;
  const tok = await sign(`u${k}`);
  const url =
    cfg.kind === "bare"
      ? `ws://${host}:${cfg.port}/ws?token=${tok}&s=${streams.join(",")}`
      : `ws://${host}:${cfg.port}/ws?token=${tok}`;
  return new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(url);
    let ready = false;
    const timer = setTimeout(() => {
      if (!ready) {
        ws.close();
        reject(new Error("timeout"));
      }
    }, cfg.connectTimeoutMs);
    const becomeReady = () => {
      ready = true;
      clearTimeout(timer);
      ws.onmessage = makeHandler();
      sockets.push(ws);
      resolve();
    };
    ws.onopen = () => {
      if (cfg.kind === "bare") becomeReady();
      else ws.send(JSON.stringify({ action: "subscribe", streams: streams.map((i) => pool[i]), id: 1 }));
    };
    ws.onmessage = (e: MessageEvent) => {
      const s = String(e.data);
      if (s.includes('"event":"subscribed"')) becomeReady();
      else if (s.includes('"event":"error"')) {
        clearTimeout(timer);
        ws.close();
        reject(new Error(s.slice(0, 120)));
      }
    };
    ws.onclose = (e: CloseEvent) => {
      if (ready) closedAfterReady++;
      else {
        clearTimeout(timer);
        reject(new Error(`closed ${e.code} ${e.reason}`.trim()));
      }
    };
    ws.onerror = () => {};
  });
}

async function connectAll(): Promise<void> {
  const r = await openAll(cfg.first, cfg.count, cfg.concurrency, open);
  send({ t: "connected", ...r });
}

let lastSum = -1;
let lastClosed = -1;
setInterval(() => {
  let sum = 0;
  for (const c of counts) sum += c;
  if (sum === lastSum && closedAfterReady === lastClosed) return;
  lastSum = sum;
  lastClosed = closedAfterReady;
  send({ t: "recv", counts: [...counts], closed: closedAfterReady });
}, 10);

process.on("message", (m: ToClient) => {
  if (m.t === "reset") hist.reset();
  else if (m.t === "hist") send({ t: "hist", sparse: hist.toSparse() });
  else if (m.t === "exit") {
    for (const ws of sockets) ws.close();
    setTimeout(() => process.exit(0), 200);
  }
});

await connectAll();
