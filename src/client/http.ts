/** A small JSON-over-HTTP client with Quittance's error shape. Uses the platform fetch (Node 20+). */
export class QuittanceClientError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string, readonly body: unknown) {
    super(message);
    this.name = 'QuittanceClientError';
  }
}

/**
 * Whether the server refused the request (a 4xx): sending it again changes nothing. 408 and 429 are not refusals
 * but "not now", from a proxy or gateway in between (its timeout, its rate limit); they, a 5xx and no answer at all
 * are worth sending again.
 */
export function isRefusal(e: unknown): boolean {
  return e instanceof QuittanceClientError && e.statusCode < 500 && e.statusCode !== 408 && e.statusCode !== 429;
}

export interface HttpOptions {
  url: string;
  key: string;
  /** Per-request timeout. */
  timeoutMs?: number;
}

export interface HttpResult<T> {
  status: number;
  body: T;
}

export class Http {
  private readonly base: string;
  constructor(private readonly options: HttpOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<HttpResult<T>> {
    const res = await fetch(this.base + path, {
      method,
      headers: { authorization: `Bearer ${this.options.key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    if (res.status >= 400) {
      // An error from something in between (a proxy's HTML 502, say) is still an HTTP error, with its status.
      const parsed = parseOrUndefined(text);
      const e = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { code?: unknown; message?: unknown };
      throw new QuittanceClientError(res.status, typeof e.code === 'string' ? e.code : 'HTTP_ERROR',
        typeof e.message === 'string' ? e.message : `${method} ${path} answered ${res.status}`, parsed ?? text);
    }
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }
}

function parseOrUndefined(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
