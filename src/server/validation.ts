import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/**
 * Route schemas are JSON Schema 2020-12, the same dialect as schemas/. Bodies are validated as sent (no coercion,
 * no silent removal of unknown keys: an unknown key is an error). Query strings and params arrive as text, so
 * there numbers and booleans are coerced.
 */
export function installValidation(app: FastifyInstance): void {
  const body = addFormats(new Ajv2020({ allErrors: false, strict: false, coerceTypes: false, removeAdditional: false, useDefaults: true }));
  const text = addFormats(new Ajv2020({ allErrors: false, strict: false, coerceTypes: 'array', removeAdditional: false, useDefaults: true }));
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? body : text;
    return ajv.compile(schema);
  });
}
