#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// A reader that stops early (`quittance verify | head -1`) closes the pipe: what it did not read is not wanted.
// Not an error of the command's, so no stack trace, and the exit code stays the command's own (verify's 1).
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`quittance: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
