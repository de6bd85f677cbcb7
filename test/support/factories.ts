/** Small factories over the HTTP API: each makes one thing and asserts it was made. */
import { expect } from 'vitest';
import type { Client } from './client.js';

let counter = 0;
/** A unique suffix for usernames and external ids within a test run. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}${process.pid}x${counter}`;
}

/** Creates a user party; returns its id. */
export async function createUser(api: Client, fields: Record<string, unknown> = {}): Promise<string> {
  const res = await api.post('/v1/parties', { type: 'user', username: unique('user'), ...fields });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

/** Creates a legal-entity party (a merchant); returns its id. */
export async function createMerchant(api: Client, name = 'Centrapay Café', merchant: Record<string, unknown> = {}): Promise<string> {
  const res = await api.post('/v1/parties', { type: 'legal_entity', name, merchant });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

/** Opens an account for a party, funded with `balance` in test mode when given; returns its id. */
export async function createAccount(api: Client, partyId: string, currency = 'USD', balance?: string): Promise<string> {
  const res = await api.post('/v1/accounts', { partyId, currency });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const id = res.body.id as string;
  if (balance !== undefined) {
    const funded = await api.post(`/v1/test-helpers/accounts/${id}/fund`, { amount: balance });
    expect(funded.status, JSON.stringify(funded.body)).toBe(200);
  }
  return id;
}

/** A user with one account; returns both ids. */
export async function createUserWithAccount(api: Client, currency = 'USD', balance?: string, fields: Record<string, unknown> = {}): Promise<{ partyId: string; accountId: string }> {
  const partyId = await createUser(api, fields);
  return { partyId, accountId: await createAccount(api, partyId, currency, balance) };
}

/** Creates a payment request (default: 10 USD, one hour); returns the response body. */
export async function createRequest(api: Client, payeeAccountId: string, fields: Record<string, unknown> = {}) {
  const lifetime = 'expiresAt' in fields ? {} : { expiresIn: 3600 };
  const res = await api.post('/v1/payment-requests', { amount: '10.00', currency: 'USD', payee: { accountId: payeeAccountId }, ...lifetime, ...fields });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** The balance of an account as a decimal string. */
export async function balanceOf(api: Client, accountId: string): Promise<string> {
  const res = await api.get(`/v1/accounts/${accountId}`);
  expect(res.status).toBe(200);
  return res.body.balance as string;
}

/** Creates an API key with these grants; returns its secret. */
export async function createKey(api: Client, grants: Record<string, unknown>[]): Promise<string> {
  const res = await api.post('/v1/api-keys', { grants });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.secret as string;
}
