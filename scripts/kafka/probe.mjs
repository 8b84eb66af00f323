// Kafka readiness probe with no dependencies: sends a real Metadata v4 request that auto-creates
// a probe topic, and succeeds only once the broker lists itself and the topic has a leader.
// That is the first moment a client can really produce and consume, unlike "port is open".
// Usage: node scripts/kafka/probe.mjs HOST:PORT [TOPIC]   (exit 0 = ready)
import net from "node:net";

const [host, port] = (process.argv[2] ?? "127.0.0.1:19092").split(":");
const topic = process.argv[3] ?? "__services_probe";

function request() {
  const clientId = Buffer.from("services-probe");
  const name = Buffer.from(topic);
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 2 + name.length + 1);
  let o = 0;
  o = body.writeInt16BE(3, o); // api key: Metadata
  o = body.writeInt16BE(4, o); // v4: oldest version Kafka 4.x still serves, has auto-create flag
  o = body.writeInt32BE(1, o); // correlation id
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  o = body.writeInt32BE(1, o); // one topic
  o = body.writeInt16BE(name.length, o);
  o += name.copy(body, o);
  body.writeInt8(1, o); // allow_auto_topic_creation
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function parse(buf) {
  let o = 4; // correlation id
  const i16 = () => { const v = buf.readInt16BE(o); o += 2; return v; };
  const i32 = () => { const v = buf.readInt32BE(o); o += 4; return v; };
  const str = () => { const n = i16(); if (n < 0) return null; const s = buf.toString("utf8", o, o + n); o += n; return s; };
  i32(); // throttle
  const brokers = i32();
  for (let i = 0; i < brokers; i++) { i32(); str(); i32(); str(); }
  str(); // cluster id
  const controller = i32();
  const topics = [];
  for (let t = i32(); t > 0; t--) {
    const error = i16(); const tname = str(); o += 1;
    const leaders = [];
    for (let p = i32(); p > 0; p--) {
      i16(); i32(); leaders.push(i32());
      o += 4 * i32(); // replicas
      o += 4 * i32(); // isr
    }
    topics.push({ error, name: tname, leaders });
  }
  return { brokers, controller, topics };
}

const sock = net.connect({ host, port: Number(port) });
const timer = setTimeout(() => fail("timeout"), 3000);
let chunks = Buffer.alloc(0);
function fail(why) { console.error(`kafka probe: ${why}`); process.exit(1); }
sock.on("error", (e) => fail(e.message));
sock.on("connect", () => sock.write(request()));
sock.on("data", (d) => {
  chunks = Buffer.concat([chunks, d]);
  if (chunks.length < 4 || chunks.length < 4 + chunks.readInt32BE(0)) return;
  clearTimeout(timer);
  const m = parse(chunks.subarray(4));
  const t = m.topics[0];
  sock.destroy();
  if (m.brokers < 1 || m.controller < 0) fail(`no broker/controller yet (${m.brokers}/${m.controller})`);
  if (!t || t.error !== 0 || t.leaders.length === 0 || t.leaders.some((l) => l < 0)) {
    fail(`probe topic not ready (error ${t?.error})`);
  }
  console.log(`kafka ready: ${m.brokers} broker(s), controller ${m.controller}`);
  process.exit(0);
});
