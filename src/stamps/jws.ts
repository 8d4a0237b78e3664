/**
 * Compact JWS (RFC 7515) with EdDSA over Ed25519 (RFC 8037), on node:crypto alone. Used by the server to sign and
 * verify stamps and status lists, and by the gate helper to verify offline, so it imports nothing but node.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export interface JwsHeader {
  alg: 'EdDSA';
  kid: string;
  typ?: string;
}

export interface Ed25519Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid?: string;
  alg?: string;
  use?: string;
}

export interface DecodedJws {
  header: JwsHeader;
  payload: Record<string, unknown>;
  /** header.payload: the bytes the signature covers. */
  signingInput: string;
  signature: Buffer;
}

function b64(json: unknown): string {
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
}

/** Signs `payload` into a compact JWS with an Ed25519 private key. */
export function signJws(header: JwsHeader, payload: Record<string, unknown>, privateKey: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input, 'ascii'), privateKey).toString('base64url')}`;
}

/**
 * The same, with the signature computed on libuv's thread pool: keeps ~30 µs of Ed25519 per token off the event
 * loop where the caller does not need the token inside a transaction (standalone mints over HTTP).
 */
export function signJwsAsync(header: JwsHeader, payload: Record<string, unknown>, privateKey: KeyObject): Promise<string> {
  const input = `${b64(header)}.${b64(payload)}`;
  return new Promise((resolve, reject) => {
    sign(null, Buffer.from(input, 'ascii'), privateKey, (err, sig) => (err ? reject(err) : resolve(`${input}.${sig.toString('base64url')}`)));
  });
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Splits and parses a compact JWS without checking its signature. Undefined for anything that is not a well-formed
 * EdDSA JWS with a kid and a JSON-object payload (unknown `crit` extensions are refused, as RFC 7515 requires), or
 * longer than `maxLength` (a stamp token's bound by default; a status list may be much longer).
 */
export function decodeJws(token: string, maxLength = 16_384): DecodedJws | undefined {
  if (typeof token !== 'string' || token.length > maxLength) return undefined;
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first < 1 || second < 0 || token.indexOf('.', second + 1) !== -1) return undefined;
  const h = token.slice(0, first);
  const p = token.slice(first + 1, second);
  const s = token.slice(second + 1);
  if (!B64URL.test(h) || !B64URL.test(p) || !B64URL.test(s)) return undefined;
  let header: unknown;
  let payload: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(header) || !isObject(payload)) return undefined;
  if (header['alg'] !== 'EdDSA' || typeof header['kid'] !== 'string' || header['crit'] !== undefined) return undefined;
  const signature = Buffer.from(s, 'base64url');
  if (signature.length !== 64) return undefined;
  return { header: header as unknown as JwsHeader, payload, signingInput: `${h}.${p}`, signature };
}

/** Checks the Ed25519 signature of a decoded JWS. */
export function verifyJws(decoded: DecodedJws, publicKey: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(decoded.signingInput, 'ascii'), publicKey, decoded.signature);
  } catch {
    return false;
  }
}

/** A public KeyObject from an OKP/Ed25519 JWK (as served by /.well-known/jwks.json). */
export function publicKeyFromJwk(jwk: Ed25519Jwk): KeyObject {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('not an Ed25519 JWK');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
