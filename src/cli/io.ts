/** What a CLI command may touch: its streams. Tests pass buffers; bin/quittance.js passes the process's. */
export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  isTTY: boolean;
  env: Record<string, string | undefined>;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, isTTY: Boolean(process.stderr.isTTY), env: process.env };
}

/** A one-line progress display on a terminal, shown only when the work takes longer than a second. */
export function progress(io: CliIo, label: string): { update(done: number, total: number): void; end(): void } {
  const started = Date.now();
  let shown = false;
  return {
    update(done, total) {
      if (!io.isTTY || Date.now() - started < 1000) return;
      shown = true;
      const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
      const width = 30;
      const fill = Math.round((pct / 100) * width);
      io.stderr.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct}% ${done}/${total}`);
    },
    end() {
      if (shown) io.stderr.write('\n');
    },
  };
}
