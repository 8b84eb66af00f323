/**
 * Decoding of FlatBuffers frames (schema/frames.fbs, versions 1 and 2) into exactly the object the JSON frame parses
 * to (protocol/frames.ts), so an app sees the same typed objects from either format. Shared by the
 * client and the server's tests; browser-safe (the `flatbuffers` runtime and TextDecoder only).
 */
import * as flatbuffers from "flatbuffers";
import type { SignedPart } from "../signature.ts";
import type { DataFrame, DecodedFrame, DepthData, DepthLevel, OrderData, Side, TickerData, TradeData } from "../frames.ts";
import * as fb from "../generated/frames_generated.ts";
import { bookChecksum, pairLevels } from "../book/book-checksum.ts";
import { readControlBody } from "./control-reader.ts";
import { readDataFrameV2, readTimesV2 } from "./data-reader-v2.ts";
import { F, read64, readStr, S } from "./fields.ts";
import { FB_FILE_IDENTIFIER, FB_SCHEMA_VERSION } from "./schema.ts";

// Reused accessors: decoding is synchronous and every result is a fresh plain object.
const frameAcc = new fb.Frame();
const dataAcc = new fb.DataFrame();
const tradeAcc = new fb.Trade();
const depthAcc = new fb.Depth();
const levelAcc = new fb.Level();
const tickerAcc = new fb.Ticker();
const orderAcc = new fb.OrderUpdate();
const rawAcc = new fb.RawJson();

/** True when `bytes` carries this schema's file identifier. */
export function isFrameFb(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && new flatbuffers.ByteBuffer(bytes).__has_identifier(FB_FILE_IDENTIFIER);
}

function rootFrame(bytes: Uint8Array): fb.Frame {
  const bb = new flatbuffers.ByteBuffer(bytes);
  if (bytes.length < 8 || !bb.__has_identifier(FB_FILE_IDENTIFIER)) {
    throw new Error("decodeFrameFb: not a gateway FlatBuffers frame (file identifier mismatch)");
  }
  const frame = fb.Frame.getRootAsFrame(bb, frameAcc);
  const version = frame.schemaVersion();
  if (version > FB_SCHEMA_VERSION) {
    throw new Error(`decodeFrameFb: frame schema_version ${version} is newer than the supported ${FB_SCHEMA_VERSION}`);
  }
  return frame;
}

function sideJs(s: fb.Side): Side {
  return s === fb.Side.Buy ? "buy" : "sell";
}

function readLevels(d: fb.Depth, bids: boolean): DepthLevel[] {
  const n = bids ? d.bidsLength() : d.asksLength();
  const out = new Array<DepthLevel>(n);
  for (let i = 0; i < n; i++) {
    const l = (bids ? d.bids(i, levelAcc) : d.asks(i, levelAcc))!;
    out[i] = [readStr(l, S.levelPrice) ?? "", readStr(l, S.levelQty) ?? ""];
  }
  return out;
}

function readPayload(df: fb.DataFrame): unknown {
  const type = df.payloadType();
  switch (type) {
    case fb.Payload.Trade: {
      const t = df.payload(tradeAcc) as fb.Trade;
      const data: TradeData = {
        id: readStr(t, S.tradeIdStr) ?? read64(t, F.tradeId),
        price: readStr(t, S.tradePrice) ?? "",
        qty: readStr(t, S.tradeQty) ?? "",
        side: sideJs(t.side()),
        timestamp: read64(t, F.tradeTs),
      };
      return data;
    }
    case fb.Payload.Depth: {
      // Schema v1 depth frames were whole books: read as snapshots with their checksum.
      const d = df.payload(depthAcc) as fb.Depth;
      const bids = readLevels(d, true);
      const asks = readLevels(d, false);
      const data: DepthData = {
        type: "snapshot",
        bids,
        asks,
        firstUpdateId: read64(d, F.depthFirst),
        lastUpdateId: read64(d, F.depthLast),
        checksum: bookChecksum(pairLevels(bids), pairLevels(asks)),
        timestamp: read64(d, F.depthTs),
      };
      return data;
    }
    case fb.Payload.Ticker: {
      const t = df.payload(tickerAcc) as fb.Ticker;
      const data: TickerData = {
        price: readStr(t, S.tickerPrice) ?? "",
        volume: readStr(t, S.tickerVolume) ?? "",
        high: readStr(t, S.tickerHigh) ?? "",
        low: readStr(t, S.tickerLow) ?? "",
        change: readStr(t, S.tickerChange) ?? "",
        timestamp: read64(t, F.tickerTs),
      };
      return data;
    }
    case fb.Payload.OrderUpdate: {
      const o = df.payload(orderAcc) as fb.OrderUpdate;
      const data: OrderData = {
        orderId: readStr(o, S.orderIdStr) ?? read64(o, F.orderId),
        pair: readStr(o, S.orderPair) ?? "",
        side: sideJs(o.side()),
        type: readStr(o, S.orderType) ?? "",
        status: readStr(o, S.orderStatus) ?? "",
        price: readStr(o, S.orderPrice) ?? "",
        qty: readStr(o, S.orderQty) ?? "",
        filledQty: readStr(o, S.orderFilledQty) ?? "",
        timestamp: read64(o, F.orderTs),
      };
      const clientOrderId = readStr(o, S.orderClientId);
      if (clientOrderId !== null) data.clientOrderId = clientOrderId;
      return data;
    }
    case fb.Payload.RawJson:
      return JSON.parse((df.payload(rawAcc) as fb.RawJson).json() ?? "null");
    default:
      throw new Error(`decodeFrameFb: unsupported payload type ${type} (newer schema?)`);
  }
}

/**
 * Decodes a FlatBuffers frame into the object its JSON frame parses to: `{stream, seq, prev,
 * data}` for a data frame (data as in JSON), `{event, ...}` for a control answer. Throws on bytes
 * that are not a frame of this schema, or of a newer schema_version.
 */
export function decodeFrameFb(bytes: Uint8Array): DecodedFrame {
  const frame = rootFrame(bytes);
  const type = frame.bodyType();
  switch (type) {
    case fb.FrameBody.DataFrame: {
      const df = frame.body(dataAcc) as fb.DataFrame;
      const out: DataFrame = {
        stream: readStr(df, S.stream) ?? "",
        seq: read64(df, F.seq),
        prev: read64(df, F.prev),
        data: readPayload(df),
      };
      return out;
    }
    case fb.FrameBody.RawJson:
      return JSON.parse((frame.body(rawAcc) as fb.RawJson).json() ?? "null") as DecodedFrame;
    case fb.FrameBody.NONE:
      return withSignature(frame, readDataFrameV2(frame)); // schema v2: the data frame is the Frame itself
    default: {
      const control = readControlBody(frame, type);
      if (control === null) throw new Error(`decodeFrameFb: unsupported frame body type ${type} (newer schema?)`);
      return control;
    }
  }
}

/** `out` with the frame's `kid`/`sig` when it is signed: the JSON frame's keys, in its order (before data). */
function withSignature(frame: fb.Frame, out: DataFrame): DataFrame {
  const sig = frame.signatureArray();
  if (!sig || sig.length === 0) return out;
  return { stream: out.stream, seq: out.seq, prev: out.prev, kid: frame.keyId() ?? "", sig: base64url(sig), data: out.data };
}

/** The signed part of a FlatBuffers data frame (its raw_json data text), or undefined when unsigned. */
export function readSignedPartFb(bytes: Uint8Array): SignedPart | undefined {
  const frame = rootFrame(bytes);
  if (frame.bodyType() !== fb.FrameBody.NONE) return undefined;
  const sig = frame.signatureArray();
  const data = frame.rawJson();
  if (!sig || sig.length === 0 || data === null) return undefined;
  return { kid: frame.keyId() ?? "", sig: base64url(sig), data };
}

function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]!);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** sourceTs/gatewayTs of a FlatBuffers data frame (not part of the JSON shape); null otherwise. */
export function readDataFrameTimesFb(bytes: Uint8Array): { sourceTs: number; gatewayTs: number } | null {
  const frame = rootFrame(bytes);
  if (frame.bodyType() === fb.FrameBody.NONE) return readTimesV2(frame);
  if (frame.bodyType() !== fb.FrameBody.DataFrame) return null;
  const df = frame.body(dataAcc) as fb.DataFrame;
  return { sourceTs: read64(df, F.sourceTs), gatewayTs: read64(df, F.gatewayTs) };
}
