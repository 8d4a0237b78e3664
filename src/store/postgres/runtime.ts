import type { Pool, QueryResultRow } from 'pg';
import type { RuntimeInstallReads, RuntimeInstallTx } from '../types.js';
import type { RuntimeInstallRow } from '../../runtime/types.js';
import { RUNTIME_INSTALL_COLUMNS, runtimeInstallToRow } from '../codecs/runtime.js';
import { type PgBatch } from './batch.js';
import { readableParams, tuple } from './values.js';

const SQL = {
  byId: `SELECT ${RUNTIME_INSTALL_COLUMNS} FROM runtime_installs WHERE tenant_id = $1 AND install_id = $2`,
  byTarget: `SELECT ${RUNTIME_INSTALL_COLUMNS} FROM runtime_installs WHERE tenant_id = $1 AND runtime_ref = $2 AND target_ref = $3`,
  // FOR UPDATE, held to COMMIT: the head a write extends is the head when it commits, so a chain never forks.
  byTargetForUpdate: `SELECT ${RUNTIME_INSTALL_COLUMNS} FROM runtime_installs WHERE tenant_id = $1 AND runtime_ref = $2 AND target_ref = $3 FOR UPDATE`,
} as const;

/**
 * Runtime install heads of one batch (see PgBatch). The tenant is taken before the head is read and locked, so two
 * servers recording the first step of the same runtime on the same target do so one after the other: the second
 * finds the chain the first started and extends it (or answers the identical repeat), never a second chain.
 */
export function pgRuntimeTx(b: PgBatch): RuntimeInstallTx {
  return {
    async runtimeInstallByTarget(tenantId, runtimeRef, targetRef) {
      await b.lockTenant(tenantId);
      return (await b.read<RuntimeInstallRow>('q_rt_byTarget', SQL.byTargetForUpdate, [tenantId, runtimeRef, targetRef]))[0];
    },
    async putRuntimeInstall(r) {
      await b.lockTenant(r.tenant_id);
      b.buffer(
        `INSERT INTO runtime_installs (${RUNTIME_INSTALL_COLUMNS}) VALUES ${tuple(runtimeInstallToRow(r))}
         ON CONFLICT (tenant_id, install_id) DO UPDATE SET head_receipt_id = excluded.head_receipt_id,
           head_document_id = excluded.head_document_id, install_state = excluded.install_state,
           manifest_digest = excluded.manifest_digest, started_at = excluded.started_at, links = excluded.links,
           updated_at = excluded.updated_at`,
        { expectRows: 1, what: `putting runtime install ${r.install_id}` },
      );
    },
  };
}

/** Runtime install reads through the pool (committed data only); each waits for the store's migrations. */
export class PgRuntimeInstallReads implements RuntimeInstallReads {
  constructor(private readonly pool: Pool, private readonly ready: () => Promise<unknown>) {}

  async runtimeInstall(tenantId: string, installId: string): Promise<RuntimeInstallRow | undefined> {
    return (await this.rows<RuntimeInstallRow>('r_rt_byId', SQL.byId, [tenantId, installId]))[0];
  }

  async runtimeInstallByTarget(tenantId: string, runtimeRef: string, targetRef: string): Promise<RuntimeInstallRow | undefined> {
    return (await this.rows<RuntimeInstallRow>('r_rt_byTarget', SQL.byTarget, [tenantId, runtimeRef, targetRef]))[0];
  }

  private async rows<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    await this.ready();
    const safe = readableParams(values);
    return safe ? (await this.pool.query<R>({ name, text, values: safe })).rows : [];
  }
}
