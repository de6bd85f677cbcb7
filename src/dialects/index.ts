/**
 * Every dialect the server speaks, in the order it registers them (their routes, their webhook
 * formats after `standard`, their OpenAPI security schemes). Adding a dialect is its folder and
 * one line here (docs/adding-a-dialect.md).
 */
import type { Dialect } from '../http/dialect.js';
import { alphapoDialect } from './alphapo/dialect.js';
import { centrapayDialect } from './centrapay/dialect.js';
import { deltapayDialect } from './deltapay/dialect.js';
import { pismoDialect } from './pismo/dialect.js';
import { requestNetworkDialect } from './request-network/dialect.js';

/** The dialects, each a `Dialect` exported by its folder. */
export const DIALECTS: readonly Dialect[] = [
  requestNetworkDialect,
  pismoDialect,
  deltapayDialect,
  centrapayDialect,
  alphapoDialect,
];
