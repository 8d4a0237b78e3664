import type { Database, Statement } from 'better-sqlite3';
import type { RuntimeInstallReads, RuntimeInstallTx } from '../types.js';
import type { RuntimeInstallRow } from '../../runtime/types.js';
import { RUNTIME_INSTALL_COLUMNS, runtimeInstallToRow } from '../codecs/runtime.js';

/** Runtime install heads on the writer connection. The single SQLite writer already serialises every write. */
export function sqliteRuntimeTx(db: Database): RuntimeInstallTx {
  const byTarget = db.prepare<[string, string, string], RuntimeInstallRow>(
    `SELECT ${RUNTIME_INSTALL_COLUMNS} FROM runtime_installs WHERE tenant_id = ? AND runtime_ref = ? AND target_ref = ?`,
  );
  const put = db.prepare(
    `INSERT INTO runtime_installs (${RUNTIME_INSTALL_COLUMNS}) VALUES (${RUNTIME_INSTALL_COLUMNS.split(',').map(() => '?').join(', ')})
     ON CONFLICT (tenant_id, install_id) DO UPDATE SET head_receipt_id = excluded.head_receipt_id,
       head_document_id = excluded.head_document_id, install_state = excluded.install_state,
       manifest_digest = excluded.manifest_digest, started_at = excluded.started_at, links = excluded.links,
       updated_at = excluded.updated_at`,
  );
  return {
    async runtimeInstallByTarget(tenantId, runtimeRef, targetRef) {
      return byTarget.get(tenantId, runtimeRef, targetRef);
    },
    async putRuntimeInstall(row) {
      put.run(...runtimeInstallToRow(row));
    },
  };
}

/** Runtime install reads on the reader connection. */
export class SqliteRuntimeInstallReads implements RuntimeInstallReads {
  private readonly byId: Statement<[string, string], RuntimeInstallRow>;
  private readonly byTarget: Statement<[string, string, string], RuntimeInstallRow>;

  constructor(db: Database) {
    this.byId = db.prepare(`SELECT ${RUNTIME_INSTALL_COLUMNS} FROM runtime_installs WHERE tenant_id = ? AND install_id = ?`);
    this.byTarget = db.prepare(`SELECT ${RUNTIME_INSTALL_COLUMNS} FROM runtime_installs WHERE tenant_id = ? AND runtime_ref = ? AND target_ref = ?`);
  }

  async runtimeInstall(tenantId: string, installId: string): Promise<RuntimeInstallRow | undefined> {
    return this.byId.get(tenantId, installId);
  }

  async runtimeInstallByTarget(tenantId: string, runtimeRef: string, targetRef: string): Promise<RuntimeInstallRow | undefined> {
    return this.byTarget.get(tenantId, runtimeRef, targetRef);
  }
}
