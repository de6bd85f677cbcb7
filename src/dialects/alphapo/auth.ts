/**
 * AlphaPo's request authentication (docs/dialects/alphapo.md): `X-Processing-Key` carries the
 * API key (here a Payreq key, `prq_…`) and `X-Processing-Signature` the lowercase hex
 * HMAC-SHA512 of the exact request body bytes, keyed with that key's signing secret
 * (`POST /v1/api-keys {signingSecret: true}`). The body is kept raw until the signature is
 * checked; only then is it parsed. Failures answer the documented bodies, in this order:
 * no key header, no signature header, unknown key, a key without a signing secret
 * (`client_disabled`, Payreq's reading of "Client is not enabled"), a wrong signature, and last
 * a body that is not a JSON object sent as `application/json` (`bad_content_format`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parse } from 'lossless-json';
import { AuthCache, authenticateKey } from '../../app/api-keys.js';
import type { Deps } from '../../app/deps.js';
import { AUTH_ERRORS } from './errors.js';

/** The lowercase hex HMAC-SHA512 of `body` with `secret`: AlphaPo's `X-Processing-Signature`. */
export function processingSignature(secret: string, body: string | Buffer): string {
  return createHmac('sha512', secret).update(body).digest('hex');
}

/** True when `given` is `expected`'s signature, compared in constant time. */
export function signatureMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What the scope's body parser keeps: the exact bytes and the media type. */
interface RawBody {
  raw: Buffer;
  contentType: string | undefined;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/**
 * Installs AlphaPo's authentication on a scope: a body parser that keeps every body raw, and a
 * `preValidation` hook that checks the headers and the signature, then parses the JSON (numbers
 * kept exact as lossless-json numbers).
 */
export function useAlphaPoAuth(scope: FastifyInstance, deps: Deps): void {
  const cache = new AuthCache();
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    done(null, { raw: body as Buffer, contentType: request.headers['content-type'] } satisfies RawBody);
  });
  scope.addHook('preValidation', async (request) => {
    const key = header(request, 'x-processing-key');
    if (key === undefined) throw AUTH_ERRORS.required_header_key;
    const signature = header(request, 'x-processing-signature');
    if (signature === undefined) throw AUTH_ERRORS.required_header_signature;
    let authenticated: Awaited<ReturnType<typeof authenticateKey>>;
    try {
      authenticated = await authenticateKey(deps, key, cache);
    } catch {
      throw AUTH_ERRORS.bad_header_key;
    }
    const { signingSecret } = authenticated;
    if (signingSecret === null) throw AUTH_ERRORS.client_disabled;
    const body = request.body as RawBody | undefined;
    const raw = body?.raw ?? Buffer.alloc(0);
    if (!signatureMatches(signature, processingSignature(signingSecret, raw))) throw AUTH_ERRORS.bad_header_signature;
    // Authenticated only once signed: a refusal above has no principal, so the rate limits count
    // it as a failed authentication of its address rather than a request of the key's.
    request.principal = authenticated.principal;
    if (!/^application\/json\s*(;|$)/i.test(body?.contentType ?? '')) throw AUTH_ERRORS.bad_content_format;
    let parsed: unknown;
    try {
      parsed = parse(raw.toString('utf8'));
    } catch {
      throw AUTH_ERRORS.bad_content_format;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw AUTH_ERRORS.bad_content_format;
    request.body = parsed;
  });
}
