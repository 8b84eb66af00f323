/** Reading the control answers (subscribed, unsubscribed, list, pong, resumed, error) of a FlatBuffers frame. */
import type { ErrorCode } from "../error-codes.ts";
import type { DecodedFrame, ErrorFrame, ListFrame, PongFrame, SubscribedFrame, UnsubscribedFrame } from "../frames.ts";
import type { RequestId } from "../requests.ts";
import { IdKind } from "../generated/cexws/frames/id-kind.ts";
import * as fb from "../generated/frames_generated.ts";

// Reused accessors: decoding is synchronous and every result is a fresh plain object.
const subscribedAcc = new fb.Subscribed();
const unsubscribedAcc = new fb.Unsubscribed();
const listAcc = new fb.StreamList();
const pongAcc = new fb.Pong();
const resumedAcc = new fb.Resumed();
const errorAcc = new fb.ErrorFrame();

function readId(kind: IdKind, num: () => bigint, text: () => string | null): RequestId | undefined {
  if (kind === IdKind.Number) return Number(num());
  if (kind === IdKind.String) return text() ?? "";
  return undefined;
}

function readStreams(n: number, at: (i: number) => string): string[] {
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = at(i);
  return out;
}

/** The control answer in the body of `frame` (of body type `type`); null for any other body. */
export function readControlBody(frame: fb.Frame, type: fb.FrameBody): DecodedFrame | null {
  switch (type) {
    case fb.FrameBody.Subscribed:
    case fb.FrameBody.Unsubscribed:
    case fb.FrameBody.StreamList: {
      const t =
        type === fb.FrameBody.Subscribed
          ? (frame.body(subscribedAcc) as fb.Subscribed)
          : type === fb.FrameBody.Unsubscribed
            ? (frame.body(unsubscribedAcc) as fb.Unsubscribed)
            : (frame.body(listAcc) as fb.StreamList);
      const event = type === fb.FrameBody.Subscribed ? "subscribed" : type === fb.FrameBody.Unsubscribed ? "unsubscribed" : "list";
      const out: SubscribedFrame | UnsubscribedFrame | ListFrame = { event, streams: readStreams(t.streamsLength(), (i) => t.streams(i)) };
      const id = readId(t.idKind(), () => t.id(), () => t.idStr());
      if (id !== undefined) out.id = id;
      return out;
    }
    case fb.FrameBody.Pong: {
      const t = frame.body(pongAcc) as fb.Pong;
      const out: PongFrame = { event: "pong" };
      const id = readId(t.idKind(), () => t.id(), () => t.idStr());
      if (id !== undefined) out.id = id;
      return out;
    }
    case fb.FrameBody.Resumed: {
      const t = frame.body(resumedAcc) as fb.Resumed;
      return { event: "resumed", stream: t.stream() ?? "", from: Number(t.from()), to: Number(t.to()) };
    }
    case fb.FrameBody.ErrorFrame: {
      const t = frame.body(errorAcc) as fb.ErrorFrame;
      const out: ErrorFrame = { event: "error", code: (t.code() ?? "") as ErrorCode, message: t.message() ?? "" };
      const id = readId(t.idKind(), () => t.id(), () => t.idStr());
      if (id !== undefined) out.id = id;
      const stream = t.stream();
      if (stream !== null) out.stream = stream;
      if (t.hasOldest()) out.oldest = Number(t.oldest());
      return out;
    }
    default:
      return null;
  }
}
