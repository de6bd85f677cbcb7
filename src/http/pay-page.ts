/**
 * The hosted pay page behind `paymentLink`, for whoever holds the link (no API key):
 *
 * - `GET /pay/{code}`: what is asked and by whom, amounts in the reader's locale, the expiry with
 *   a live countdown, the status; in test mode a "Simulate payment" button; a link back to the
 *   store, and on to `redirectUrls.success` once paid.
 * - `GET /pay/{code}/events`: a read-only Server-Sent Events stream of that one request's public
 *   status (`status`, `amount`, `amountPaid`, `currency`), so the page turns to paid, partly
 *   paid, expired or failed without a reload.
 * - `POST /pay/{code}/simulate`: test mode only, pays what is owed (an external payment).
 *
 * Safe to expose: only the request's public fields, a strict Content-Security-Policy (scripts
 * and styles only with the response's nonce), no framing, and every `/pay` route rate-limited
 * per client address so codes cannot be enumerated. Unknown or malformed codes get a plain 404.
 */
import { randomBytes } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import QRCode from 'qrcode';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Deps } from '../app/deps.js';
import { findRequestByCode, publicStatus, simulatePayment } from '../app/pay-page.js';
import { presentPaymentRequest } from '../app/present.js';
import { isDomainError } from '../domain/errors.js';
import { formatForReader } from '../domain/money.js';
import { STATUS_OF } from './problem.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

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

/** Options of the pay page routes. */
export interface PayPageOptions {
  deps: Deps;
  /** Requests per minute per client address on every `/pay` route (default 120). */
  rateLimitPerMinute?: number;
  /** How often an open status stream re-reads its request, in ms (default 1000); commits in this process wake it at once. */
  pollIntervalMs?: number;
}

const NOT_FOUND = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found</title></head><body><main><h1>No such payment request</h1><p>Check the link you were given.</p></main></body></html>';

function securityHeaders(reply: FastifyReply, nonce: string): void {
  void reply
    .header('content-security-policy', `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store');
}

// The page's own script: the live status, the countdown, the simulate button, the redirect.
const SCRIPT = `
(function () {
  var root = document.getElementById('pay');
  var code = root.dataset.code;
  var statusEl = document.getElementById('status');
  var paidEl = document.getElementById('paid');
  var countdown = document.getElementById('countdown');
  var expiresAt = Date.parse(root.dataset.expiresAt);
  var success = root.dataset.success;
  var words = JSON.parse(root.dataset.words);
  function tick() {
    var left = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    countdown.textContent = (h > 0 ? h + ':' + String(m).padStart(2, '0') : String(m)) + ':' + String(s).padStart(2, '0');
  }
  tick();
  var timer = setInterval(tick, 1000);
  function show(update) {
    root.dataset.status = update.status;
    statusEl.textContent = words[update.status] || update.status;
    paidEl.textContent = update.amountPaidText;
    var done = update.status !== 'pending' && update.status !== 'processing';
    var button = document.getElementById('simulate');
    if (button && done) button.remove();
    if (done) { clearInterval(timer); countdown.textContent = '0:00'; }
    if (update.status === 'paid') {
      var next = document.getElementById('continue');
      if (next) { next.hidden = false; }
      if (success) { setTimeout(function () { window.location.assign(success); }, 1500); }
    }
  }
  var stream = new EventSource('/pay/' + code + '/events');
  stream.addEventListener('status', function (e) { show(JSON.parse(e.data)); });
  var button = document.getElementById('simulate');
  if (button) button.addEventListener('click', function () {
    button.disabled = true;
    fetch('/pay/' + code + '/simulate', { method: 'POST' }).then(function (r) { if (!r.ok) button.disabled = false; });
  });
})();
`;

const STATUS_WORDS: Record<string, string> = {
  pending: 'Waiting for payment',
  processing: 'Processing',
  paid: 'Paid',
  failed: 'Failed',
  cancelled: 'Cancelled',
  declined: 'Declined',
  expired: 'Expired',
  refunded: 'Refunded',
};

/** Registers the pay page routes (their own scope, rate-limited). */
export const payPageRoutes: FastifyPluginAsync<PayPageOptions> = async (scope: FastifyInstance, options) => {
  const { deps } = options;
  await scope.register(rateLimit, { max: options.rateLimitPerMinute ?? 120, timeWindow: 60_000 });
  scope.setErrorHandler(async (err, request, reply) => {
    // The rate limit's refusal (with its retry-after header already set); anything else is a bug.
    if ((err as { statusCode?: number }).statusCode === 429) return reply.code(429).type('text/plain; charset=utf-8').send('Too many requests: try again in a minute.');
    request.log.error({ err }, 'pay page failed');
    return reply.code(500).type('text/plain; charset=utf-8').send('Something went wrong.');
  });
  const readable = (amount: string, code: string, locale: string) => {
    const currency = deps.currencies.get(code);
    return formatForReader(amount, { ...currency, symbol: currency.token?.symbol }, locale);
  };

  scope.get<{ Params: { code: string } }>('/pay/:code', { schema: { hide: true } }, async (request, reply) => {
    const nonce = randomBytes(16).toString('base64');
    securityHeaders(reply, nonce);
    const pr = await findRequestByCode(deps, request.params.code);
    if (!pr) return reply.code(404).type('text/html; charset=utf-8').send(NOT_FOUND);
    const now = deps.clock();
    const view = presentPaymentRequest(pr, deps, now);
    const locale = readerLocale(request.headers['accept-language']);
    const merchant = view.payee.name ?? (typeof view.merchant?.['name'] === 'string' ? view.merchant['name'] : null);
    const options = (
      await Promise.all(
        view.paymentOptions.map(async (o) => {
          const amount = escapeHtml(readable(o.amount, o.currency, locale));
          if (!o.uri || !o.address) return `<li>${amount}</li>`;
          // A mobile wallet scans the option's EIP-681 URI; the address and amount are there to copy too.
          const qr = await QRCode.toDataURL(o.uri, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
          return `<li>${amount} on ${escapeHtml(o.network ?? '')}<figure><img src="${qr}" width="240" height="240" alt="QR code: pay ${amount} with a mobile wallet" data-uri="${escapeHtml(o.uri)}"><figcaption>Send to <code>${escapeHtml(o.address)}</code> with payment reference <code>${escapeHtml(o.paymentReference ?? '')}</code></figcaption></figure></li>`;
        }),
      )
    ).join('');
    const items = view.lineItems?.length
      ? `<table><caption>Items</caption><thead><tr><th scope="col">Item</th><th scope="col">Qty</th><th scope="col">Price</th></tr></thead><tbody>${view.lineItems
          .map((li) => `<tr><td>${escapeHtml(li.name)}</td><td>${escapeHtml(li.qty)}</td><td>${escapeHtml(readable(li.price, view.currency, locale))}</td></tr>`)
          .join('')}</tbody></table>`
      : '';
    const pending = view.status === 'pending';
    const success = view.redirectUrls?.success;
    const html = `<!doctype html>
<html lang="${escapeHtml(locale)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay ${escapeHtml(readable(view.amount, view.currency, locale))}${merchant ? ` to ${escapeHtml(merchant)}` : ''}</title>
<style nonce="${nonce}">
body{font-family:system-ui,sans-serif;color:#111;background:#fff;max-width:32rem;margin:0 auto;padding:1.5rem 1rem;line-height:1.5}
h1{font-size:1.1rem;font-weight:500;margin:0}.amount{font-size:2.4rem;font-weight:650;margin:.25rem 0;overflow-wrap:anywhere}
.status{font-weight:600}.muted{color:#444}code{overflow-wrap:anywhere}table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:.25rem 0}
button,a.button{display:inline-block;font:inherit;padding:.7rem 1.1rem;border-radius:.4rem;border:2px solid #0b5394;background:#0b5394;color:#fff;text-decoration:none;cursor:pointer}
a.secondary{background:#fff;color:#0b5394}button:focus-visible,a:focus-visible{outline:3px solid #f4b400;outline-offset:2px}
</style></head>
<body><main id="pay" data-code="${escapeHtml(view.code)}" data-status="${escapeHtml(view.status)}" data-expires-at="${escapeHtml(view.expiresAt)}" data-success="${escapeHtml(success ?? '')}" data-words="${escapeHtml(JSON.stringify(STATUS_WORDS))}">
<h1>${merchant ? `${escapeHtml(merchant)} asks you to pay` : 'Payment requested'}</h1>
<p class="amount" data-testid="amount">${escapeHtml(readable(view.amount, view.currency, locale))}</p>
${view.description ? `<p data-testid="description">${escapeHtml(view.description)}</p>` : ''}
${items}
<p>Status: <span class="status" id="status" data-testid="status" role="status" aria-live="polite">${escapeHtml(STATUS_WORDS[view.status] ?? view.status)}</span></p>
<p>Paid so far: <span id="paid">${escapeHtml(readable(view.amountPaid, view.currency, locale))}</span></p>
<p>Expires <time datetime="${escapeHtml(view.expiresAt)}">${escapeHtml(new Date(view.expiresAt).toLocaleString(locale, { timeZone: 'UTC', dateStyle: 'medium', timeStyle: 'short' }))} UTC</time>, in <span id="countdown" aria-label="time left">…</span></p>
<h2>Pay with</h2><ul>${options}</ul>
${pending && view.mode === 'test' ? '<p><button type="button" id="simulate">Simulate payment (test mode)</button></p>' : ''}
${success ? `<p><a class="button" id="continue" href="${escapeHtml(success)}" ${view.status === 'paid' ? '' : 'hidden'}>Continue</a></p>` : ''}
${view.redirectUrls?.store ? `<p><a class="button secondary" href="${escapeHtml(view.redirectUrls.store)}">Back to the store</a></p>` : ''}
<p class="muted">Reference <code>${escapeHtml(view.paymentReference)}</code></p>
</main>
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>`;
    return reply.type('text/html; charset=utf-8').send(html);
  });

  scope.get<{ Params: { code: string } }>('/pay/:code/events', { schema: { hide: true } }, async (request, reply) => {
    const first = await findRequestByCode(deps, request.params.code);
    if (!first) return reply.code(404).type('application/json').send({ error: 'not_found' });
    const locale = readerLocale(request.headers['accept-language']);
    const raw = reply.raw;
    reply.hijack();
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let last = '';
    let reading = false;
    const send = async (): Promise<void> => {
      if (reading || raw.writableEnded) return;
      reading = true;
      try {
        const pr = await findRequestByCode(deps, request.params.code);
        if (!pr) return;
        const status = publicStatus(deps, pr, deps.clock());
        const text = JSON.stringify({ ...status, amountPaidText: readable(status.amountPaid, status.currency, locale) });
        if (text !== last) {
          last = text;
          raw.write(`event: status\ndata: ${text}\n\n`);
        }
      } catch (err) {
        request.log.warn({ err }, 'pay page status stream read failed');
      } finally {
        reading = false;
      }
    };
    const unsubscribe = deps.store.onEventsCommitted(() => void send());
    const timer = setInterval(() => void send(), options.pollIntervalMs ?? 1000);
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), 15_000);
    raw.on('close', () => {
      unsubscribe();
      clearInterval(timer);
      clearInterval(heartbeat);
    });
    raw.write('retry: 2000\n\n');
    await send();
  });

  scope.post<{ Params: { code: string } }>('/pay/:code/simulate', { schema: { hide: true } }, async (request, reply) => {
    try {
      const pr = await simulatePayment(deps, request.params.code);
      return reply.send(publicStatus(deps, pr, deps.clock()));
    } catch (err) {
      if (!isDomainError(err)) throw err;
      return reply.code(STATUS_OF[err.code]).send({ error: err.code, detail: err.message });
    }
  });
};
