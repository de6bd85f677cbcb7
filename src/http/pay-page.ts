/**
 * The hosted pay page behind `paymentLink` (`/pay/{code}`): a public, read-only summary of
 * what is asked, for whoever holds the link. It shows no ids and moves no money.
 */
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../app/deps.js';
import { presentPaymentRequest } from '../app/present.js';
import { formatForReader } from '../domain/money.js';
import { findPaymentRequestByCode } from '../db/payment-request.repository.js';

/** The reader's locale: the first tag of `Accept-Language` (`de-CH,de;q=0.9` → `de-CH`), else `en`. */
export function readerLocale(acceptLanguage: string | undefined): string {
  const first = acceptLanguage?.split(',')[0]?.split(';')[0]?.trim();
  if (!first || first === '*') return 'en';
  try {
    return Intl.getCanonicalLocales(first)[0] ?? 'en';
  } catch {
    return 'en';
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Registers `GET /pay/:code`. */
export function payPageRoute(app: FastifyInstance, deps: Deps): void {
  app.get<{ Params: { code: string } }>('/pay/:code', { schema: { hide: true } }, async (request, reply) => {
    const pr = /^[0-9A-Z-]{1,20}$/.test(request.params.code) ? await findPaymentRequestByCode(deps.store, request.params.code) : undefined;
    if (!pr) return reply.code(404).type('text/html; charset=utf-8').send('<!doctype html><title>Not found</title><h1>No such payment request</h1>');
    const view = presentPaymentRequest(pr, deps, deps.clock());
    const locale = readerLocale(request.headers['accept-language']);
    const readable = (amount: string, code: string) => {
      const currency = deps.currencies.get(code);
      return formatForReader(amount, { ...currency, symbol: currency.token?.symbol }, locale);
    };
    const merchant = typeof view.merchant?.['name'] === 'string' ? view.merchant['name'] : null;
    const options = view.paymentOptions.map((o) => `<li>${escapeHtml(readable(o.amount, o.currency))}</li>`).join('');
    const html = `<!doctype html>
<html lang="${escapeHtml(locale)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Payment request ${escapeHtml(view.code)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}.amount{font-size:2.5rem;font-weight:600}.status{text-transform:uppercase;letter-spacing:.05em}</style></head>
<body><main>
${merchant ? `<p>${escapeHtml(merchant)} asks for</p>` : '<p>Payment requested</p>'}
<p class="amount" data-testid="amount">${escapeHtml(readable(view.amount, view.currency))}</p>
${view.description ? `<p data-testid="description">${escapeHtml(view.description)}</p>` : ''}
<p class="status" data-testid="status">${escapeHtml(view.status)}</p>
<p>Expires ${escapeHtml(view.expiresAt)}</p>
<h2>Pay with</h2><ul>${options}</ul>
<p>Reference <code>${escapeHtml(view.paymentReference)}</code></p>
</main></body></html>`;
    return reply.type('text/html; charset=utf-8').send(html);
  });
}
