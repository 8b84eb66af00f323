import type { StreamEvent } from "../../protocol/stream-event.ts";
import type { WireFormat } from "../../protocol/wire.ts";
import { encodeDataFrameFb } from "../codec/flatbuffers-codec.ts";
import type { FrameSignature } from "../codec/frame-signature.ts";
import { encodeDataFrameJson } from "../codec/json-codec.ts";

/**
 * Data frames as every path sends them (live fan-out, resume replay): the codecs plus, for the
 * streams that are signed, the event's signature (computed once, shared by both formats).
 */
export class DataFrames {
  constructor(private readonly signFor: (ev: StreamEvent) => FrameSignature | undefined = () => undefined) {}

  json(ev: StreamEvent): string {
    return encodeDataFrameJson(ev, this.signFor(ev));
  }

  fb(ev: StreamEvent): Uint8Array {
    return encodeDataFrameFb(ev, this.signFor(ev));
  }

  encode(ev: StreamEvent, format: WireFormat): string | Uint8Array {
    return format === "json" ? this.json(ev) : this.fb(ev);
  }
}
