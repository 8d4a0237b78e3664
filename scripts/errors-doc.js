#!/usr/bin/env node
// Regenerates docs/errors.md from the coded error registry (src/errors.ts, compiled). `npm test` checks they agree.
import { writeFileSync } from 'node:fs';
import { ERRORS } from '../dist/src/errors.js';

export function renderErrorsDoc() {
  const rows = Object.entries(ERRORS).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.message.replace(/\|/g, '\\|').replace(/%s/g, '…')} |`);
  return `# Error codes

Every error Quittance answers has the body \`{statusCode, code, error, message}\`. The codes are stable; the
messages may improve. This file is generated from \`src/errors.ts\` by \`npm run docs:errors\`; a test keeps the
two in step.

One non-error code also appears: \`LOCATABILITY_MISSING\`, in a **202** answer to a success receipt that has neither
\`artifacts\` nor \`delivery_proof\` (stored, closes nothing, raises a \`success_without_locatability\` anomaly).

| code | HTTP status | message |
|---|---|---|
${rows.join('\n')}
`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc());
  console.log('docs/errors.md written');
}
