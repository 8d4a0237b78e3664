import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The package root: the nearest folder above this module that has a package.json (works from src and dist). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('quittance: cannot find the package root');
    dir = up;
  }
  return dir;
}

/** Numbered plain-SQL migrations bundled with the package: migrations/<backend>/NNNN_name.sql. */
export function loadMigrations(backend: 'sqlite' | 'postgres'): Migration[] {
  const dir = join(packageRoot(), 'migrations', backend);
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f.slice(5, -4), sql: readFileSync(join(dir, f), 'utf8') }));
}
