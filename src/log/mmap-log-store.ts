/**
 * MmapLogStore: every stream's RingLog under one directory; the default, persistent LogStore.
 *
 * Durability:
 * - Process crash (kill -9, OOM kill, uncaught panic): every append that returned survives. Its
 *   bytes went through a MAP_SHARED mapping, i.e. straight into the kernel's page cache, which
 *   outlives the process. Recovery drops at most the one record being written when it died.
 * - Machine crash (power loss, kernel panic, VM reset): only what the kernel had written back
 *   survives. The hot path never msyncs or fsyncs (Bun exposes no msync; an fsync per append would
 *   cost a syscall and a disk flush). Linux writes dirty pages back on its own, by default once
 *   they are ~30 s old (vm.dirty_expire_centisecs); `syncIntervalMs` adds a periodic fdatasync of
 *   the written segments on libuv's threads, and close() fdatasyncs everything, so after a clean
 *   shutdown all of it is on disk. Records are checksummed, so a torn or lost page is detected,
 *   and recovery keeps the newest contiguous run. Because a gateway-numbered (random-epoch) stream
 *   may then have lost seqs that clients already received, its epoch is replaced; a source-numbered
 *   (fixed-epoch) stream keeps its epoch, as its seqs mean the same events everywhere.
 *   A machine crash is recognised by the ".lock" of a previous owner from another boot.
 *
 * Resources: Bun closes the file descriptor right after mmap(), so a mapping holds no descriptor
 * (the 20,000 open-file cap is not a limit here); each segment is one mapping (vm.max_map_count,
 * default 65,530, allows ~16,000 streams of 4 segments). Stream logs are opened lazily (get/find),
 * except after a machine crash, when all are recovered at open so none keeps an epoch it may no
 * longer deserve. One process per directory: a second store on it is refused.
 */
import fs from "node:fs";
import path from "node:path";
import { claimDir, releaseDir, writeDirLock } from "./dir-lock.ts";
import { type LogStoreOptions, type ResolvedLogOptions, resolveLogOptions } from "./log-options.ts";
import { StreamLimitError, type LogStore, type StreamLog } from "./log-store.ts";
import { LogCreator } from "./log-creator.ts";
import { PendingLog } from "./pending-log.ts";
import type { RingLog } from "./ring-log.ts";
import { syncSegmentFile, syncSegmentFileAsync } from "./segment.ts";
import { type LogMeta, createStreamFiles, listStreams, mapStreamLog, newLogMeta, openStreamLog, readMeta, streamDirName } from "./stream-dir.ts";

/** The persistent LogStore: one RingLog of mapped segment files per stream under one directory. */
export class MmapLogStore implements LogStore {
  /** Absolute path of the store directory. */
  readonly dir: string;
  /** How the previous owner of the directory stopped, as found at open. */
  readonly previousShutdown: "clean" | "process-crash" | "machine-crash";
  /** The last error of a periodic sync, for health reporting; cleared by a sync that succeeds. */
  lastSyncError: Error | undefined;

  private readonly opts: ResolvedLogOptions;
  private readonly logs = new Map<string, RingLog>();
  /** New logs whose files a worker is creating (createInBackground); their events wait in memory. */
  private readonly pending = new Map<string, { log: PendingLog; meta: LogMeta }>();
  private creator: LogCreator | undefined;
  private readonly onDisk: Set<string>;
  /** Disk bytes per stream log, read from its meta the first time they are asked for. */
  private readonly bytes = new Map<string, number>();
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private syncing = false;
  private closed = false;

  constructor(options: LogStoreOptions = {}) {
    this.opts = resolveLogOptions(options);
    this.dir = path.resolve(this.opts.dir);
    fs.mkdirSync(this.dir, { recursive: true });
    this.previousShutdown = claimDir(this.dir);
    try {
      this.onDisk = listStreams(this.dir);
      if (this.previousShutdown === "machine-crash") {
        for (const s of this.onDisk) this.logs.set(s, openStreamLog(this.dir, s, this.opts, true));
      }
      writeDirLock(this.dir);
    } catch (e) {
      releaseDir(this.dir, false);
      throw e;
    }
    if (this.opts.syncIntervalMs > 0) {
      this.timer = setInterval(() => void this.syncInBackground(), this.opts.syncIntervalMs);
      this.timer.unref();
    }
  }

  get(stream: string): StreamLog {
    const log = this.logs.get(stream) ?? this.pending.get(stream)?.log;
    if (log !== undefined) return log;
    if (this.closed) throw new Error("log store is closed");
    if (!this.onDisk.has(stream) && this.onDisk.size >= this.opts.maxStreams) throw new StreamLimitError(stream, this.opts.maxStreams);
    // Existing logs open inline: their files are there, only mapping and recovery remain.
    if (this.opts.createInBackground && !this.onDisk.has(stream)) return this.createInBackground(stream);
    const opened = openStreamLog(this.dir, stream, this.opts, false);
    this.logs.set(stream, opened);
    this.bytes.delete(stream); // a log reset at open may have a new geometry
    this.onDisk.add(stream);
    return opened;
  }

  find(stream: string): StreamLog | undefined {
    return this.logs.get(stream) ?? this.pending.get(stream)?.log ?? (this.onDisk.has(stream) ? this.get(stream) : undefined);
  }

  /** Whether every log is backed by its files (none is still being created). */
  get settled(): boolean {
    return this.pending.size === 0;
  }

  /**
   * A new log whose files a worker creates; until then a PendingLog holds its events. The epoch is
   * fixed now, so what clients see before and after the switch is one numbering.
   */
  private createInBackground(stream: string): PendingLog {
    streamDirName(stream); // refuses a name that cannot be a directory, as the inline path does
    const meta = newLogMeta(stream, this.opts);
    const size = this.opts.sizeOf(stream);
    const log = new PendingLog(stream, meta.epoch, size.maxEvents, size.segments * size.segmentBytes);
    this.pending.set(stream, { log, meta });
    this.onDisk.add(stream);
    this.bytes.delete(stream);
    this.creator ??= new LogCreator();
    this.creator.create(this.dir, meta).then(
      () => this.adopt(stream),
      // The files could not be made (disk full...): the log stays in memory, and close() retries.
      (err: Error) => (this.lastSyncError = err),
    );
    return log;
  }

  /** The files of a pending log exist: map them and move its events in (on the event loop, ~µs). */
  private adopt(stream: string): void {
    const p = this.pending.get(stream);
    if (!p || this.closed) return;
    const ring = mapStreamLog(this.dir, p.meta, this.opts.sizeOf(stream).maxEvents, false);
    p.log.adopt(ring);
    this.pending.delete(stream);
    this.logs.set(stream, ring);
  }

  streams(): string[] {
    return [...this.onDisk];
  }

  get size(): number {
    return this.onDisk.size;
  }

  /** Segment bytes of every log (opened or not), from their meta files; read at scrape, not per event. */
  diskBytes(): number {
    let total = 0;
    for (const s of this.onDisk) {
      let b = this.bytes.get(s);
      if (b === undefined) {
        const m = readMeta(path.join(this.dir, streamDirName(s)));
        // A log being created has no meta yet: count it next time.
        if (m === undefined) continue;
        b = m.segments * m.segmentBytes;
        this.bytes.set(s, b);
      }
      total += b;
    }
    return total;
  }

  /** fdatasyncs every segment written since the last sync, blocking; what close() does first. */
  sync(): void {
    for (const log of this.logs.values()) {
      const u = log.unsynced();
      if (u === undefined) continue;
      for (const p of u.paths) syncSegmentFile(p);
      log.markSynced(u.gen, u.off);
    }
  }

  /** Syncs (unless a sync fails, in which case the lock stays and the next open assumes a crash) and unmaps. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    // Logs still being created get their files here, inline, so their events are kept too.
    this.creator?.terminate();
    for (const [stream, p] of this.pending) {
      try {
        createStreamFiles(this.dir, p.meta);
        const ring = mapStreamLog(this.dir, p.meta, this.opts.sizeOf(stream).maxEvents, false);
        p.log.adopt(ring);
        this.logs.set(stream, ring);
      } catch (e) {
        this.lastSyncError = e as Error;
      }
    }
    this.pending.clear();
    let synced = true;
    try {
      this.sync();
    } catch (e) {
      synced = false;
      this.lastSyncError = e as Error;
    }
    for (const log of this.logs.values()) log.close();
    this.logs.clear();
    releaseDir(this.dir, synced);
  }

  // The periodic sync runs on libuv's threads, one file at a time so it never bursts file descriptors.
  private async syncInBackground(): Promise<void> {
    if (this.syncing || this.closed) return;
    this.syncing = true;
    try {
      for (const log of [...this.logs.values()]) {
        const u = log.unsynced();
        if (u === undefined) continue;
        for (const p of u.paths) await syncSegmentFileAsync(p);
        log.markSynced(u.gen, u.off);
      }
      this.lastSyncError = undefined;
    } catch (e) {
      this.lastSyncError = e as Error;
    } finally {
      this.syncing = false;
    }
  }
}
