import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { QuittanceError } from '../../errors.js';
import type { BlobStore, StoredBlob } from '../../evidence/types.js';

/** A temp file this old was left by a crashed put, not one in progress (puts take seconds, not hours). */
const STALE_TEMP_MS = 60 * 60 * 1000;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Evidence bytes as files: `<root>/sha256/<first 2 hex>/<64 hex>`, one file per distinct content whatever the
 * number of tenants that put it. A put streams into `<root>/tmp`, hashing as it writes, fsyncs, and only then
 * renames the file to its digest and fsyncs the folder (temp file + fsync + rename): a crash leaves either no
 * file under the digest or the whole of it, never a prefix. Renaming over an existing copy is atomic, so a
 * repeated put of the same bytes also repairs a damaged copy.
 */
export class FileBlobStore implements BlobStore {
  private readonly objects: string;
  private readonly temp: string;

  constructor(readonly root: string) {
    this.objects = join(root, 'sha256');
    this.temp = join(root, 'tmp');
    mkdirSync(this.objects, { recursive: true });
    mkdirSync(this.temp, { recursive: true });
    this.sweepStaleTemp();
  }

  private pathOf(hex: string): string {
    return join(this.objects, hex.slice(0, 2), hex);
  }

  /** Removes temp files of puts that crashed. Only old ones: another process (the CLI) may share the folder. */
  private sweepStaleTemp(): void {
    // Housekeeping of the filesystem, not ledger logic: the wall clock is the right one to compare mtimes with.
    const before = Date.now() - STALE_TEMP_MS;
    for (const name of readdirSync(this.temp)) {
      const p = join(this.temp, name);
      try {
        if (statSync(p).mtimeMs < before) rmSync(p, { force: true });
      } catch {
        // Gone already (another process swept it): nothing to do.
      }
    }
  }

  async put(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StoredBlob> {
    const tempPath = join(this.temp, `${randomBytes(12).toString('hex')}.tmp`);
    const fh = await open(tempPath, 'wx', 0o600);
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of source) {
        size += chunk.byteLength;
        if (size > maxBytes) throw new QuittanceError('QUITTANCE_ERR_EVIDENCE_TOO_LARGE', [maxBytes]);
        hash.update(chunk);
        for (let off = 0; off < chunk.byteLength; ) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
      }
      // The bytes are on disk before any name points at them.
      await fh.sync();
    } catch (e) {
      await fh.close();
      await unlink(tempPath).catch(() => undefined);
      throw e;
    }
    await fh.close();
    const hex = hash.digest('hex');
    const final = this.pathOf(hex);
    const dir = join(this.objects, hex.slice(0, 2));
    try {
      const created = await mkdir(dir, { recursive: true });
      await rename(tempPath, final);
      // The rename, and the fan-out folder if it is new, are durable only once their folders are fsync'd.
      await fsyncDir(dir);
      if (created !== undefined) await fsyncDir(this.objects);
    } catch (e) {
      await unlink(tempPath).catch(() => undefined);
      throw e;
    }
    return { digest: `sha256:${hex}`, size_bytes: size };
  }

  async read(digest: string): Promise<Buffer | undefined> {
    // Only a well-formed digest names a file here: nothing else may turn into a path.
    if (!DIGEST_RE.test(digest)) return undefined;
    try {
      return await readFile(this.pathOf(digest.slice('sha256:'.length)));
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Where the bytes of a digest live (for tools and tests that inspect the folder). */
  fileOf(digest: string): string {
    return this.pathOf(digest.slice('sha256:'.length));
  }
}
