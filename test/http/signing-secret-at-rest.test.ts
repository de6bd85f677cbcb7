/**
 * docs/api.md ("Signing secrets") says how a key's signing secret is kept: sealed under the
 * master key, never as is. This holds the text to what the database holds.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

/** The "### Signing secrets" section of docs/api.md. */
function signingSecretsSection(): string {
  const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  const start = doc.indexOf('### Signing secrets');
  expect(start).toBeGreaterThan(-1);
  const end = doc.indexOf('\n#', start + 1);
  return doc.slice(start, end === -1 ? undefined : end);
}

describe('signing secrets at rest', () => {
  it('are stored sealed under the master key, as docs/api.md says', async () => {
    const made = await t.admin.post('/v1/api-keys', { grants: [{ permission: 'payment_requests:read' }], signingSecret: true });
    expect(made.status).toBe(201);
    const signingSecret = made.body.signingSecret as string;
    const row = await t.server.deps.store.db.selectFrom('api_keys').select('signing_secret').where('id', '=', made.body.id as string).executeTakeFirstOrThrow();
    expect(row.signing_secret).toMatch(/^prqenc:v1:/);
    expect(row.signing_secret).not.toContain(signingSecret);

    const section = signingSecretsSection();
    expect(section).not.toMatch(/stored as is/);
    expect(section).toMatch(/sealed with AES-256-GCM/);
    expect(section).toContain('PAYREQ_SECRET_KEY');
  });
});
