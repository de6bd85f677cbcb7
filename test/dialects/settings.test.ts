/**
 * Each dialect reads its own `PAYREQ_<NAME>_*` variables (src/http/dialect.ts `readSettings`), at
 * start: `loadConfig` gives every dialect of `DIALECTS` its settings, and a bad value stops the
 * server before it listens, naming the variable.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DIALECTS } from '../../src/dialects/index.js';

const settingsOf = (name: string, env: Record<string, string> = {}) => loadConfig(env).dialects.find((d) => d.dialect.name === name)?.settings;

describe("the dialects' own settings", () => {
  it('are read for every dialect of the list, in its order', () => {
    expect(loadConfig({}).dialects.map((d) => d.dialect.name)).toEqual(DIALECTS.map((d) => d.name));
    expect(DIALECTS.map((d) => d.prefix)).toEqual(DIALECTS.map((d) => `/compat/${d.name}`));
  });

  it("DeltaPay's transaction types: PAYREQ_DELTAPAY_TRANSACTION_TYPES, comma-separated, seeded with DeltaPay's", () => {
    expect(settingsOf('deltapay')).toEqual({ transactionTypes: ['rent', 'eating_out', 'education', 'entertainment', 'taxes', 'cash_withdrawal', 'eps_mint', 'eps_withdrawal'] });
    expect(settingsOf('deltapay', { PAYREQ_DELTAPAY_TRANSACTION_TYPES: ' rent, , taxes ' })).toEqual({ transactionTypes: ['rent', 'taxes'] });
  });

  it("AlphaPo's amount limits: PAYREQ_ALPHAPO_AMOUNT_LIMITS, and a bad value stops the start naming it", () => {
    expect(settingsOf('alphapo')).toEqual({ amountLimits: {} });
    expect(settingsOf('alphapo', { PAYREQ_ALPHAPO_AMOUNT_LIMITS: '{"EUR": {"min": "10", "max": "100000"}}' })).toEqual({ amountLimits: { EUR: { min: '10', max: '100000' } } });
    for (const bad of ['not json', '[]', '{"EUR": {"min": 10}}', '{"EUR": {"min": "-1"}}', '{"EUR": {"least": "1"}}']) {
      expect(() => loadConfig({ PAYREQ_ALPHAPO_AMOUNT_LIMITS: bad }), bad).toThrow(/^PAYREQ_ALPHAPO_AMOUNT_LIMITS must be JSON/);
    }
  });
});
