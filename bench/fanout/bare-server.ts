/**
 * The BARE baseline of bench/fanout.ts: a minimal Bun.serve pub/sub server with the gateway's
 * WebSocket options. Each socket is subscribed on open to the topics named in its URL (`?s=0,1,2`,
 * indices into the stream pool); a publisher publishes source batches with server.publish, one
 * batch per tick, frames in the gateway's JSON data-frame shape and size. No auth, log, metrics.
 * Started by the orchestrator with FANOUT_SERVER (ServerConfig JSON) and an IPC channel.
 */
import type { ServerWebSocket } from "bun";
import { dieWithParent, eventStream, nowMs, payloadText, PublishController, streamPool, type FromServer, type ServerConfig, type ToServer } from "./common.ts";

dieWithParent(10 * 60_000);
const cfg = JSON.parse(process.env.FANOUT_SERVER ?? "{}") as ServerConfig;
const send = (m: FromServer) => process.send?.(m);

const pool = streamPool(cfg.pool);
const topics = pool.map((s) => "j:" + s);
// Everything but seq, prev and the payload is fixed per stream: pre-built once.
const framePrefix = pool.map((s) => '{"stream":' + JSON.stringify(s) + ',"seq":');
const seqs = pool.map(() => 0);

interface Data {
  topics: string[];
}

const server = Bun.serve<Data>({
  hostname: cfg.host,
  port: cfg.port,
  reusePort: true,
  fetch(req, srv) {
    const url = new URL(req.url);
    const s = url.searchParams.get("s") ?? "";
    const t = s === "" ? [] : s.split(",").map((i) => topics[Number(i)]!).filter(Boolean);
    if (srv.upgrade(req, { data: { topics: t } })) return undefined;
    return new Response("upgrade required", { status: 426 });
  },
  websocket: {
    // Same options as the gateway (src/gateway/gateway.ts) with its default limits.
    maxPayloadLength: 64 * 1024,
    backpressureLimit: 2 * 1024 * 1024,
    closeOnBackpressureLimit: true,
    idleTimeout: 60,
    sendPings: true,
    perMessageDeflate: false,
    publishToSelf: false,
    open(ws: ServerWebSocket<Data>) {
      for (const t of ws.data.topics) ws.subscribe(t);
    },
    message() {},
  },
});

let batchNo = 0;
let id = 1;
/** BENCH_TRACE=1: cumulative CPU µs inside server.publish, as the gateway feeder reports it. */
const tracing = process.env.BENCH_TRACE === "1";
const trace = { publish: 0 };
function publishBatch(): number {
  const pt = nowMs();
  let deliveries = 0;
  for (let i = 0; i < cfg.batch; i++) {
    const si = eventStream(batchNo, i, cfg.batch, cfg.pool);
    const seq = ++seqs[si]!;
    const frame = framePrefix[si]! + seq + ',"prev":' + (seq - 1) + ',"data":' + payloadText(cfg.index, pt, id++) + "}";
    if (tracing) {
      const c0 = process.cpuUsage();
      server.publish(topics[si]!, frame);
      const c = process.cpuUsage(c0);
      trace.publish += c.user + c.system;
    } else server.publish(topics[si]!, frame);
    deliveries += server.subscriberCount(topics[si]!);
  }
  batchNo++;
  return deliveries;
}

const ctl = new PublishController(cfg.batch, publishBatch, send, tracing ? () => ({ ...trace }) : undefined);
process.on("message", (m: ToServer) => {
  if (m.t === "exit") {
    server.stop(true);
    process.exit(0);
  }
  ctl.handle(m);
});
send({ t: "ready", port: server.port ?? 0, pid: process.pid });
