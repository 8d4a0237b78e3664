/** Contracts: JSON Schemas of every Quittance and SourceOS object, their validator and their TypeScript types. */
export {
  validateDocument, validateDocuments, assertValidDocument, documentType,
  type ValidationResult, type SetValidationResult, type ValidateOptions, type ValidateSetOptions, type ContractError,
} from './validate.js';
export { loadSchemas, schemaByName, isSchemaName, schemasDir, SCHEMA_ID_BASE, type JsonSchema, type SchemaSet } from './schemas.js';
export { compileAll } from './compile.js';
export { SEMANTIC_RULES, CROSS_DOCUMENT_RULE, type SemanticRule } from './rules.js';
export * from './types.js';
