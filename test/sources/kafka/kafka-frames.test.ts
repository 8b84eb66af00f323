import { describe, expect, test } from "bun:test";
import {
  BATCH_MESSAGES_AT, FRAME_BATCH, FRAME_JSON, FRAME_REPLAY, FrameReader, REPLAY_ID_AT, REPLAY_MESSAGES_AT,
  decodeMessages, encodeJson, encodeMessages, type RawKafkaMessage,
} from "../../../src/sources/kafka/kafka-frames.ts";

const topics = ["orders", "trades"];
const topicIndex = (t: string) => topics.indexOf(t);
const raw = (i: number, topic = "trades"): RawKafkaMessage => ({
  topic,
  partition: i % 3,
  offset: 100 + i,
  timestamp: 1_700_000_000_000 + i,
  key: i % 2 ? `k${i}` : null,
  value: Buffer.from(JSON.stringify({ i, note: "é" })),
});

/** Every frame the reader emits for `chunks`, as [type, frame copy]. */
function read(chunks: Uint8Array[]): [number, Buffer][] {
  const r = new FrameReader();
  const out: [number, Buffer][] = [];
  for (const c of chunks) r.push(c, (f, t) => out.push([t, Buffer.from(f)]));
  return out;
}

describe("Kafka worker frames", () => {
  test("a batch frame round-trips every field; positions are offset + 1", () => {
    const msgs = [raw(0), raw(1, "orders"), raw(2)];
    const frame = encodeMessages(msgs, topicIndex);
    expect(frame[4]).toBe(FRAME_BATCH);
    const next: [number, number, number][] = [];
    const got = decodeMessages(frame, BATCH_MESSAGES_AT, topics, (t, p, off) => next.push([t, p, off]));
    expect(got.map((m) => [m.origin, m.partition, m.position, m.key, m.timestamp, new TextDecoder().decode(m.value as Uint8Array)])).toEqual(
      msgs.map((m) => [m.topic, m.partition, m.offset + 1, m.key == null ? undefined : String(m.key), m.timestamp, m.value!.toString()]),
    );
    expect(next).toEqual(msgs.map((m) => [topicIndex(m.topic), m.partition, m.offset]));
  });

  test("a replay frame carries its request id before the messages", () => {
    const frame = encodeMessages([raw(5)], topicIndex, 42);
    expect(frame[4]).toBe(FRAME_REPLAY);
    expect(frame.readUInt32BE(REPLAY_ID_AT)).toBe(42);
    expect(decodeMessages(frame, REPLAY_MESSAGES_AT, ["trades"]).map((m) => m.position)).toEqual([106]);
  });

  test("the reader reassembles frames split anywhere, also inside the length prefix", () => {
    const frames = [encodeMessages([raw(0), raw(1)], topicIndex), encodeJson({ type: "ready", assigned: 3 }), encodeMessages([raw(2)], topicIndex)];
    const all = Buffer.concat(frames);
    const whole = read([all]);
    expect(whole.map(([t]) => t)).toEqual([FRAME_BATCH, FRAME_JSON, FRAME_BATCH]);
    expect(whole.map(([, f]) => f)).toEqual(frames);
    for (const cut of [1, 2, 3, 4, 5, frames[0]!.length - 1, frames[0]!.length, frames[0]!.length + 2]) {
      expect(read([all.subarray(0, cut), all.subarray(cut)]).map(([, f]) => f)).toEqual(frames);
    }
    // Byte by byte: every frame still arrives whole, once, in order.
    expect(read([...all].map((b) => Uint8Array.of(b))).map(([, f]) => f)).toEqual(frames);
  });

  test("an incomplete tail waits for the rest and emits nothing meanwhile", () => {
    const frame = encodeMessages([raw(7)], topicIndex);
    const r = new FrameReader();
    const out: Buffer[] = [];
    r.push(frame.subarray(0, frame.length - 1), (f) => out.push(Buffer.from(f)));
    expect(out).toEqual([]);
    r.push(frame.subarray(frame.length - 1), (f) => out.push(Buffer.from(f)));
    expect(out).toEqual([frame]);
  });
});
