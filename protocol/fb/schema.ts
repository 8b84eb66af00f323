/** Identity of the FlatBuffers wire format (schema/frames.fbs) that every frame carries. */

/** file_identifier of schema/frames.fbs: bytes 4..7 of every frame. */
export const FB_FILE_IDENTIFIER = "CXWF";
/** The schema_version this code writes and the highest it reads (schema/README.md). */
export const FB_SCHEMA_VERSION = 2;
