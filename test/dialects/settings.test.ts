/**
 * Each dialect reads its own `PAYREQ_<NAME>_*` variables (src/http/dialect.ts `readSettings`), at
 * start: `loadConfig` gives every dialect of `DIALECTS` its settings, and a bad value stops the
 * server before it listens, naming the variable.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { writeCentrapayData } from '../../src/dialects/centrapay/data.js';
import { writeDeltaPayData } from '../../src/dialects/deltapay/data.js';
import { DIALECTS } from '../../src/dialects/index.js';
import { writePismoData } from '../../src/dialects/pismo/data.js';
import { writeRequestNetworkData } from '../../src/dialects/request-network/data.js';
import type { DialectData } from '../../src/domain/payment-request.js';

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

describe("the dialects' own data", () => {
  it('lives under the dialect\'s name and passes the schema its Dialect object names', () => {
    const written: Record<string, DialectData | undefined> = {
      pismo: writePismoData({ location: { city: 'São Paulo' } }),
      deltapay: writeDeltaPayData({ metadata: 'order 7', timeout: 600 }),
      centrapay: writeCentrapayData({ externalRef: 'ext-1' }),
      'request-network': writeRequestNetworkData({ paymentCurrency: 'USDC-sepolia' }),
    };
    for (const dialect of DIALECTS) {
      if (dialect.dataSchema === undefined) {
        expect(written[dialect.name], dialect.name).toBeUndefined();
        continue;
      }
      const data = written[dialect.name];
      expect(Object.keys(data ?? {}), dialect.name).toEqual([dialect.name]);
      expect(dialect.dataSchema.safeParse(data?.[dialect.name]).success, dialect.name).toBe(true);
    }
    expect(DIALECTS.filter((d) => d.dataSchema !== undefined).map((d) => d.name).sort()).toEqual(Object.keys(written).sort());
  });
});
