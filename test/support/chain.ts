/** The local chain for tests (shared with `npm run demo:chain`: `scripts/lib/chain.ts`). */
export * from '../../scripts/lib/chain.js';
