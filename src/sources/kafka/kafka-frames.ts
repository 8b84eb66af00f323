/**
 * Wire format between the Kafka worker (a Node child process that owns librdkafka) and
 * KafkaSource in the Bun gateway.
 *
 * Worker -> gateway, on the worker's stdout: frames of [u32 length][u8 type][payload], where
 * length counts the type byte and the payload. A whole consumed batch travels as one frame so the
 * gateway can hand it to its sink in one event-loop tick. Binary rather than JSON because this is
 * the hot path: the payload bytes are copied once into the frame and the gateway reads them as
 * zero-copy views.
 *
 * Gateway -> worker, on the worker's stdin: one JSON command per line (rare, not hot).
 *
 * This file runs in both runtimes (Bun and Node's type stripping), so it uses erasable TypeScript
 * only and Node's Buffer, which Bun implements.
 */
import type { SourceMessage } from "../source.ts";

/** A batch of live messages: [u32 count] then messages (see encodeMessages). */
export const FRAME_BATCH = 1;
/** A JSON object: worker status (ready, health, error, replay-error). */
export const FRAME_JSON = 2;
/** The answer to a replay command: [u32 request id][u32 count] then messages. */
export const FRAME_REPLAY = 3;

/** [u32 length][u8 type]: the bytes before every frame's payload. */
const HEADER = 5;
/** Where the messages of a FRAME_BATCH start (after its header). */
export const BATCH_MESSAGES_AT = HEADER;
/** Where the request id of a FRAME_REPLAY is. */
export const REPLAY_ID_AT = HEADER;
/** Where the messages of a FRAME_REPLAY start (after the header and the request id). */
export const REPLAY_MESSAGES_AT = HEADER + 4;
/** librdkafka's RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN: it reconnects by itself, but we are not connected meanwhile. */
export const ERR_ALL_BROKERS_DOWN = -187;
// topic index u16, partition i32, offset f64, timestamp f64, key length i32, value length i32
const FIXED = 2 + 4 + 8 + 8 + 4 + 4;

/** The fields of a librdkafka message the worker forwards. */
export interface RawKafkaMessage {
  topic: string;
  partition: number;
  offset: number;
  timestamp?: number;
  key?: Buffer | string | null;
  value: Buffer | null;
}

/** Commands the gateway sends to the worker. */
export type WorkerCommand =
  | { op: "replay"; id: number; topic: string; partition: number; from: number; limit: number }
  | { op: "stop" };

/** Status objects the worker sends in FRAME_JSON frames. */
export type WorkerStatus =
  | { type: "ready"; assigned: number }
  | { type: "assigned"; offsets: Record<string, Record<string, number>> }
  | { type: "health"; connected: boolean; lag?: number; errors: number; reconnects: number; lastError?: string }
  | { type: "error"; message: string; code?: number; fatal?: boolean }
  | { type: "replay-error"; id: number; message: string };

function keyBuffer(key: RawKafkaMessage["key"]): Buffer | null {
  if (key === null || key === undefined) return null;
  return typeof key === "string" ? Buffer.from(key) : key;
}

/**
 * Encodes messages into one frame. `topicIndex` maps topic names to the indexes the gateway
 * knows (its configured topic list); `replayId` makes it a FRAME_REPLAY answer.
 */
export function encodeMessages(msgs: RawKafkaMessage[], topicIndex: (topic: string) => number, replayId?: number): Buffer {
  const keys: (Buffer | null)[] = new Array(msgs.length);
  let size = HEADER + (replayId === undefined ? 4 : 8);
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    const k = keyBuffer(m.key);
    keys[i] = k;
    size += FIXED + (k ? k.length : 0) + (m.value ? m.value.length : 0);
  }
  const buf = Buffer.allocUnsafe(size);
  let o = buf.writeUInt32BE(size - 4, 0);
  o = buf.writeUInt8(replayId === undefined ? FRAME_BATCH : FRAME_REPLAY, o);
  if (replayId !== undefined) o = buf.writeUInt32BE(replayId, o);
  o = buf.writeUInt32BE(msgs.length, o);
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    const k = keys[i];
    o = buf.writeUInt16BE(topicIndex(m.topic), o);
    o = buf.writeInt32BE(m.partition, o);
    o = buf.writeDoubleBE(m.offset, o);
    o = buf.writeDoubleBE(m.timestamp ?? 0, o);
    o = buf.writeInt32BE(k ? k.length : -1, o);
    if (k) o += k.copy(buf, o);
    o = buf.writeInt32BE(m.value ? m.value.length : -1, o);
    if (m.value) o += m.value.copy(buf, o);
  }
  return buf;
}

/** Encodes a JSON status frame. */
export function encodeJson(obj: WorkerStatus): Buffer {
  const body = Buffer.from(JSON.stringify(obj));
  const buf = Buffer.allocUnsafe(HEADER + body.length);
  buf.writeUInt32BE(body.length + 1, 0);
  buf.writeUInt8(FRAME_JSON, 4);
  body.copy(buf, HEADER);
  return buf;
}

const EMPTY = new Uint8Array(0);

/**
 * Decodes the messages of a FRAME_BATCH/FRAME_REPLAY frame starting at `o` (the count field).
 * Values are views into `frame`, not copies; `onMessage` sees each one (position tracking).
 */
export function decodeMessages(
  frame: Buffer,
  o: number,
  topics: readonly string[],
  onMessage?: (topicIdx: number, partition: number, offset: number) => void,
): SourceMessage[] {
  const count = frame.readUInt32BE(o);
  o += 4;
  const out: SourceMessage[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const t = frame.readUInt16BE(o);
    const partition = frame.readInt32BE(o + 2);
    const position = frame.readDoubleBE(o + 6);
    const timestamp = frame.readDoubleBE(o + 14);
    const keyLen = frame.readInt32BE(o + 22);
    o += 26;
    let key: string | undefined;
    if (keyLen >= 0) {
      key = frame.toString("utf8", o, o + keyLen);
      o += keyLen;
    }
    const valueLen = frame.readInt32BE(o);
    o += 4;
    let value: Uint8Array = EMPTY;
    if (valueLen > 0) {
      value = frame.subarray(o, o + valueLen);
      o += valueLen;
    }
    // Position = offset + 1: positions start at 1, so the first message of a topic (offset 0) is
    // above an empty log's head (0) and is never taken for a redelivery.
    out[i] = { origin: topics[t] ?? "", key, value, position: position + 1, partition, timestamp };
    onMessage?.(t, partition, position);
  }
  return out;
}

/**
 * Reassembles frames from the chunks a pipe delivers. Small frames inside one chunk are handed
 * out as views of that chunk; a frame split across chunks is concatenated once, when complete.
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Feeds one chunk; calls `onFrame(frame, type)` with each complete frame, payload at offset 5. */
  push(chunk: Uint8Array, onFrame: (frame: Buffer, type: number) => void): void {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.pendingBytes > 0) {
      this.pending.push(buf);
      this.pendingBytes += buf.length;
      const head = this.pending[0]!;
      // The length prefix itself may be split; wait until 4 bytes are here.
      if (head.length < 4) {
        if (this.pendingBytes < 4) return;
        this.pending = [Buffer.concat(this.pending)];
      }
      const need = this.pending[0]!.readUInt32BE(0) + 4;
      if (this.pendingBytes < need) return;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let o = 0;
    while (buf.length - o >= 4) {
      const len = buf.readUInt32BE(o) + 4;
      if (buf.length - o < len) break;
      const frame = buf.subarray(o, o + len);
      onFrame(frame, frame[4]!);
      o += len;
    }
    if (o < buf.length) {
      // Copy: the pipe may reuse the chunk's memory for the next read.
      const rest = Buffer.from(buf.subarray(o));
      this.pending = [rest];
      this.pendingBytes = rest.length;
    }
  }
}
