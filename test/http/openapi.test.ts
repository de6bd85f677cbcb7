/** The OpenAPI document is generated from the route schemas, and the reference UI and health check answer. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('/openapi.json and /docs', () => {
  it('documents every /v1 route with its request and response schemas', async () => {
    const res = await new Client(t.url, undefined).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const paths = Object.keys(res.body.paths);
    for (const path of [
      '/v1/payment-requests', '/v1/payment-requests/{id}', '/v1/payment-requests/{id}/approve', '/v1/payment-requests/{id}/decline',
      '/v1/payment-requests/{id}/cancel', '/v1/payment-requests/{id}/payments', '/v1/payment-requests/{id}/refunds',
      '/v1/payment-requests/{id}/events', '/v1/parties', '/v1/parties/{id}', '/v1/parties/{id}/payment-requests',
      '/v1/accounts', '/v1/accounts/{id}', '/v1/test-helpers/accounts/{id}/fund', '/v1/api-keys',
    ]) {
      expect(paths, path).toContain(path);
    }
    const create = res.body.paths['/v1/payment-requests'].post;
    const schema = create.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(expect.arrayContaining(['amount', 'currency', 'payee']));
    expect(schema.additionalProperties).toBe(false);
    expect(create.responses['201'].content['application/json'].schema.properties.status.enum).toContain('refunded');
  });

  it('serves the reference UI', async () => {
    const res = await fetch(`${t.url}/docs/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/swagger/i);
  });

  it('answers /healthz while the database is reachable', async () => {
    const res = await new Client(t.url, undefined).get('/healthz');
    expect(res).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('serves the hosted pay page behind paymentLink', async () => {
    const party = await t.admin.post('/v1/parties', { type: 'legal_entity', name: 'Shop <b>' });
    const account = await t.admin.post('/v1/accounts', { partyId: party.body.id, currency: 'EUR' });
    const pr = await t.admin.post('/v1/payment-requests', { amount: '12.5', currency: 'EUR', payee: { accountId: account.body.id }, expiresIn: 600, description: 'Order #123' });
    const page = await fetch(pr.body.paymentLink as string);
    expect(page.status).toBe(200);
    const html = await page.text();
    // Formatted for the reader: English without Accept-Language, German with it.
    expect(html).toContain('€12.50');
    const german = await (await fetch(pr.body.paymentLink as string, { headers: { 'accept-language': 'de-DE,de;q=0.9' } })).text();
    expect(german).toContain('12,50\u00a0€');
    expect(german).toContain('<html lang="de-DE">');
    expect(html).toContain('Order #123');
    expect(html).toContain('Shop &#60;b&#62;');
    expect((await fetch(`${t.url}/pay/NOPE-NOPE-NOPE`)).status).toBe(404);
  });
});
