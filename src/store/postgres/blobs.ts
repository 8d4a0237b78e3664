import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { QuittanceError } from '../../errors.js';
import type { BlobStore, StoredBlob } from '../../evidence/types.js';

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/**
 * Evidence bytes in the evidence_blobs table (0006_evidence_runtime.sql): every server of a deployment reads every
 * blob, and the database is what they share. One row per distinct content, whatever the number of tenants that
 * put it. A put reads the whole source first, hashing as it goes (nothing is sent for a blob over the limit), then
 * stores it in one autocommitted statement: the row is there whole or not at all, and durable once it returns
 * (the store's connections run with synchronous_commit=on). Blobs are at most evidence.blobMaxBytes (16 MiB by
 * default), so holding one in memory is fine.
 */
export class PgBlobStore implements BlobStore {
  constructor(private readonly pool: Pool, private readonly ready: () => Promise<unknown>) {}

  async put(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StoredBlob> {
    const hash = createHash('sha256');
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of source) {
      size += chunk.byteLength;
      // Stops reading (the loop's exit ends the source) and keeps nothing.
      if (size > maxBytes) throw new QuittanceError('QUITTANCE_ERR_EVIDENCE_TOO_LARGE', [maxBytes]);
      hash.update(chunk);
      // Copied: a stream may reuse the memory of a chunk it has handed out.
      parts.push(Buffer.from(chunk));
    }
    const digest = `sha256:${hash.digest('hex')}`;
    await this.ready();
    // Putting bytes that are already there rewrites them, which also repairs a damaged copy; an intact copy (the
    // usual case) is left alone, so repeated puts of the same evidence do not rewrite megabytes each time.
    await this.pool.query({
      name: 'b_blob_put',
      text: `INSERT INTO evidence_blobs (digest, size_bytes, bytes) VALUES ($1, $2, $3)
             ON CONFLICT (digest) DO UPDATE SET size_bytes = excluded.size_bytes, bytes = excluded.bytes
             WHERE evidence_blobs.size_bytes <> excluded.size_bytes OR evidence_blobs.bytes <> excluded.bytes`,
      values: [digest, size, Buffer.concat(parts, size)],
    });
    return { digest, size_bytes: size };
  }

  async read(digest: string): Promise<Buffer | undefined> {
    // Only a well-formed digest names a blob (as on SQLite, where nothing else may turn into a path).
    if (!DIGEST_RE.test(digest)) return undefined;
    await this.ready();
    const r = await this.pool.query<{ bytes: Buffer }>({ name: 'b_blob_read', text: 'SELECT bytes FROM evidence_blobs WHERE digest = $1', values: [digest] });
    return r.rows[0]?.bytes;
  }
}
