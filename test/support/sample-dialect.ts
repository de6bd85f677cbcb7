/**
 * A test-only dialect, written the way docs/adding-a-dialect.md says, to show that a dialect is
 * its own module plus one entry in the list given to the server: a tiny provider "Sample" under
 * `/compat/sample` with a create and a get route, its own auth header (`X-Sample-Key`), its own
 * error shape (`{"sample_error": {"status", "message"}}`), its own setting
 * (`PAYREQ_SAMPLE_MAX_AMOUNT`) and a webhook format signing with HMAC-SHA256
 * (`X-Sample-Signature: t=<unix seconds>,v1=<hex>` over `<t>.<body>`).
 * test/dialects/sample-dialect.test.ts registers it as `[...DIALECTS, sampleDialect]`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AuthCache, authenticate } from '../../src/app/api-keys.js';
import { createPaymentRequest } from '../../src/app/payment-requests/create.js';
import { getPaymentRequest } from '../../src/app/payment-requests/read.js';
import { presentPaymentRequest } from '../../src/app/present.js';
import { isDomainError } from '../../src/domain/errors.js';
import { principalOf } from '../../src/http/auth.js';
import type { Dialect, DialectRouteOptions, Env } from '../../src/http/dialect.js';
import { STATUS_OF } from '../../src/http/problem.js';
import type { WebhookFormatModule } from '../../src/webhooks/formats.js';

/** Sample's settings: the largest amount a request may ask for (`PAYREQ_SAMPLE_MAX_AMOUNT`, a whole number, default 1000). */
export interface SampleSettings {
  maxAmount: number;
}

/** Sample's refusal: `{"sample_error": {"status": 404, "message": "…"}}`. */
class SampleError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The status and message of any error, in Sample's terms. */
function sampleErrorOf(err: unknown): { status: number; message: string } {
  if (err instanceof SampleError) return { status: err.status, message: err.message };
  if (isDomainError(err)) return { status: STATUS_OF[err.code], message: err.message };
  const status = (err as FastifyError).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return { status, message: (err as Error).message };
  return { status: 500, message: 'internal error' };
}

/** Sample's error handler. */
async function sendSampleError(err: unknown, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { status, message } = sampleErrorOf(err);
  if (status >= 500) request.log.error({ err }, 'unhandled error in the sample dialect');
  await reply.code(status).type('application/json').send({ sample_error: { status, message } });
}

const createBody = z.strictObject({
  amount: z.string().regex(/^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$/),
  currency: z.string().min(3).max(12),
  payee_account: z.uuid(),
  expires_in: z.number().int().min(60).max(86_400).optional(),
});
const idParams = z.object({ id: z.string().min(1).max(64) });

/** Sample's view of a payment request. */
function sampleView(pr: ReturnType<typeof presentPaymentRequest>) {
  return { id: pr.id, amount: pr.amount, currency: pr.currency, state: pr.status };
}

const sampleRoutes: FastifyPluginCallback<DialectRouteOptions<SampleSettings>> = (scope: FastifyInstance, { deps, settings }, done) => {
  scope.setErrorHandler(sendSampleError);
  scope.setNotFoundHandler(async (request, reply) => sendSampleError(new SampleError(404, 'no such route'), request, reply));
  const cache = new AuthCache();
  scope.addHook('onRequest', async (request) => {
    const key = request.headers['x-sample-key'];
    if (typeof key !== 'string' || key === '') throw new SampleError(401, 'X-Sample-Key is required');
    try {
      request.principal = await authenticate(deps, key, cache);
    } catch {
      throw new SampleError(401, 'unknown key');
    }
  });
  const r = scope.withTypeProvider<ZodTypeProvider>();
  const schema = { tags: ['sample dialect'], security: [{ sampleKey: [] }] };
  r.post('/payment-requests', { schema: { ...schema, summary: 'Create a payment request (Sample)', body: createBody } }, async (request, reply) => {
    const b = request.body;
    if (Number(b.amount) > settings.maxAmount) throw new SampleError(400, `amount is over ${settings.maxAmount}`);
    const pr = await createPaymentRequest(deps, principalOf(request), { amount: b.amount, currency: b.currency, payee: { accountId: b.payee_account }, expiresIn: b.expires_in ?? 3600 });
    return reply.code(201).send(sampleView(presentPaymentRequest(pr, deps, deps.clock())));
  });
  r.get('/payment-requests/:id', { schema: { ...schema, summary: 'Get a payment request (Sample)', params: idParams } }, async (request) => {
    const pr = await getPaymentRequest(deps, principalOf(request), request.params.id);
    return sampleView(presentPaymentRequest(pr, deps, deps.clock()));
  });
  done();
};

/** The `X-Sample-Signature` of `body` sent at `unixSeconds` with `secret`. */
export function sampleSignature(secret: string, unixSeconds: number, body: string): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

/** The `sample` webhook format: payment request events only, `{id, type, payment_request}`, signed with the current secret. */
const sampleFormat: WebhookFormatModule = {
  carries: (event) => event.type.startsWith('payment_request.'),
  render(event, context) {
    const pr = event.data['paymentRequest'] as { id?: string; status?: string } | undefined;
    const body = JSON.stringify({ id: event.id, type: event.type, payment_request: { id: pr?.id, state: pr?.status } });
    const t = Math.floor(context.sentAt.getTime() / 1000);
    return { body, headers: { 'x-sample-signature': sampleSignature(context.secrets[0] ?? '', t, body) } };
  },
  newSecret: () => `smp_${randomBytes(24).toString('hex')}`,
};

const settingsSchema = z.object({ PAYREQ_SAMPLE_MAX_AMOUNT: z.coerce.number().int().min(1).default(1000) });

/** The Sample dialect. */
export const sampleDialect: Dialect<SampleSettings> = {
  name: 'sample',
  prefix: '/compat/sample',
  readSettings(env: Env): SampleSettings {
    const parsed = settingsSchema.safeParse(env);
    if (!parsed.success) throw new Error(`invalid configuration: PAYREQ_SAMPLE_MAX_AMOUNT must be a whole number of at least 1`);
    return { maxAmount: parsed.data.PAYREQ_SAMPLE_MAX_AMOUNT };
  },
  routes: sampleRoutes,
  sendError: sendSampleError,
  webhookFormats: { sample: sampleFormat },
  securitySchemes: { sampleKey: { type: 'apiKey', in: 'header', name: 'x-sample-key', description: 'A Payreq API key, on the Sample dialect' } },
  hardening: {
    auth: { family: 'x-sample-key', headers: ({ key }) => ({ 'x-sample-key': key }) },
    isDocumentedError: (status, _contentType, body) => {
      const error = typeof body === 'object' && body !== null ? (body as { sample_error?: { status?: unknown; message?: unknown } }).sample_error : undefined;
      return error?.status === status && typeof error.message === 'string';
    },
    read: { method: 'GET', path: '/payment-requests/nope' },
    write: { method: 'POST', path: '/payment-requests' },
  },
};
