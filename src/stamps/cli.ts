import type { CliIo } from '../cli/io.js';
import type { Services } from '../server/services.js';

/** `quittance keys rotate`: new tokens use the next key at once; the retired one verifies until its stamps end. */
export async function runKeysRotate(s: Services, io: CliIo, json: boolean): Promise<number> {
  const r = await s.stamps.rotateSigningKeys();
  if (json) {
    io.stdout.write(JSON.stringify(r) + '\n');
  } else {
    io.stdout.write(
      `Rotated the stamp signing key.\n` +
      `  signing new tokens now: ${r.current_kid}\n` +
      `  published for the next rotation: ${r.next_kid}\n` +
      `  retired: ${r.retired_kid} (stays in the JWKS until ${r.retired_verify_until}, when the last stamp it signed ends)\n`,
    );
  }
  return 0;
}
