/**
 * fast-check arbitraries for the fuzz suite: values that satisfy a route's JSON Schema (from the
 * OpenAPI document the server serves), the same with one field replaced by a hostile value, and
 * raw bodies no schema describes (deep nesting, duplicate and `__proto__` keys, broken JSON).
 */
import fc from 'fast-check';

/** A JSON Schema node, as found in the OpenAPI document (the keywords the routes use). */
export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  default?: unknown;
  description?: string;
}

/** Values the fixtures made (ids, codes, amounts, currencies), so generated input often names real things. */
export interface Pools {
  ids: string[];
  strings: string[];
}

/** Hostile values: wrong types, huge, negative and fractional numbers, long and non-ASCII strings. */
export const HOSTILE: readonly unknown[] = [
  null, true, false, 0, -1, 1.5, -0.01, 1e308, -1e308, 2 ** 53 + 2, 10.5, [], {}, [1, [2, [3]]], { nested: { deeper: {} } },
  '', ' ', '-10.00', '1e3', '0x10', 'NaN', 'Infinity', '10.001', ' 10 ', '１０', '٣', '10,00', '00000000000000000000000001',
  '999999999999999999999999999999999999.99', 'x'.repeat(70_000), '💸'.repeat(2000), '\u0000', '\ud800', 'e\u0301', '\u202Eevil',
  '<script>alert(1)</script>', "' OR 1=1 --", '../../etc/passwd', '__proto__', 'constructor', '%00', 'USD\n', 'usd',
  '2026-02-30T00:00:00Z', '0xZZ', '0x0000000000000000000000000000000000000000', 'javascript:alert(1)', 'http://169.254.169.254/',
];

/** Raw bodies that no schema describes. `{}` in a template is replaced by a valid body's JSON. */
export const RAW_BODIES: readonly string[] = [
  '', ' ', '{', '}', 'nul', 'null', 'true', '1', '"text"', '[]', '[{}]', '{"a":1,}', "{'a':1}", '{"a":NaN}', '{"a":1e999}',
  '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '{"a":"\\ud800"}', '\ufeff{}',
  `${'['.repeat(20_000)}${']'.repeat(20_000)}`, `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`, `{"big":"${'x'.repeat(1_100_000)}"}`,
];

function typesOf(schema: Schema): string[] {
  return schema.type === undefined ? [] : [schema.type].flat();
}

function stringFor(schema: Schema, pools: Pools): fc.Arbitrary<string> {
  if (schema.enum) return fc.constantFrom(...(schema.enum as string[]));
  if (schema.format === 'date-time') return fc.date({ min: new Date('2020-01-01'), max: new Date('2040-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.format === 'email') return fc.constantFrom('ana@example.com', 'x@y.io');
  if (schema.format === 'uri') return fc.constantFrom('https://example.com/a', 'http://127.0.0.1:9/hook');
  if (schema.description?.includes('UUID') === true && pools.ids.length > 0) return fc.constantFrom(...pools.ids);
  if (schema.pattern !== undefined) {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? 10_000) && s.length >= (schema.minLength ?? 0));
    } catch {
      // a pattern JavaScript cannot compile: fall through
    }
  }
  const max = Math.min(schema.maxLength ?? 40, 40);
  const min = Math.min(schema.minLength ?? 0, max);
  return fc.oneof(fc.constantFrom(...pools.strings, ...pools.ids).filter((s) => s.length >= min && s.length <= (schema.maxLength ?? Infinity)), fc.string({ minLength: min, maxLength: max }));
}

/**
 * Values satisfying `schema` as far as its keywords say (ids come from `pools`, so many are
 * real). Depth is bounded.
 */
export function valueFor(schema: Schema, pools: Pools, depth = 0): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const options = schema.anyOf ?? schema.oneOf;
  if (options) return fc.oneof(...options.map((o) => valueFor(o, pools, depth + 1)));
  if (schema.allOf?.[0]) return valueFor(schema.allOf[0], pools, depth + 1);
  const types = typesOf(schema);
  const type = types.find((t) => t !== 'null') ?? (schema.properties ? 'object' : undefined);
  if (type === undefined) return depth > 2 ? fc.constant(null) : fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null));
  switch (type) {
    case 'object': {
      const properties = schema.properties ?? {};
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, child] of Object.entries(properties)) record[key] = depth > 4 ? fc.constant(null) : valueFor(child, pools, depth + 1);
      const required = (schema.required ?? []).filter((k) => k in properties);
      if (Object.keys(record).length === 0 && schema.additionalProperties === false) return fc.constant({});
      if (Object.keys(record).length === 0) return fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 3 });
      return fc.record(record, { requiredKeys: required });
    }
    case 'array': {
      const item = schema.items ? valueFor(schema.items, pools, depth + 1) : fc.string({ maxLength: 8 });
      return fc.array(item, { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 3, 3) });
    }
    case 'string':
      return stringFor(schema, pools);
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0);
      const max = Math.min(schema.maximum ?? 100_000, 10_000_000);
      return type === 'integer' ? fc.integer({ min: Math.ceil(min), max: Math.max(Math.ceil(min), Math.floor(max)) }) : fc.double({ min, max: Math.max(min, max), noNaN: true });
    }
    case 'boolean':
      return fc.boolean();
    default:
      return fc.constant(null);
  }
}

/** Every path (list of keys) inside a JSON value, the root included. */
export function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const paths = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => paths.push(...pathsOf(v, [...prefix, i])));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) paths.push(...pathsOf(v, [...prefix, k]));
  return paths;
}

/** A copy of `value` with the value at `path` replaced (a root path replaces the whole). */
export function replaceAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? replaceAt(v, rest, replacement) : v));
  const copy = { ...(value as Record<string, unknown>) };
  copy[head] = replaceAt(copy[head], rest, replacement);
  return copy;
}

/** A valid value for `schema` with one field (or the whole) replaced by a hostile value. */
export function mutatedFor(schema: Schema, pools: Pools): fc.Arbitrary<unknown> {
  return valueFor(schema, pools).chain((valid) => {
    const paths = pathsOf(valid);
    return fc.tuple(fc.constantFrom(...paths), fc.constantFrom(...HOSTILE)).map(([path, hostile]) => replaceAt(valid, path, hostile));
  });
}

/** A body's text: a valid, mutated or raw body, with duplicate or `__proto__` keys spliced in. */
export function bodyTextFor(schema: Schema | undefined, pools: Pools): fc.Arbitrary<string> {
  const shape: Schema = schema ?? { type: 'object', properties: {} };
  const spliced = valueFor(shape, pools).chain((valid) => {
    const text = JSON.stringify(valid);
    if (!text.startsWith('{') || text === '{}') return fc.constant(text);
    const first = /^\{"((?:[^"\\]|\\.)*)"/.exec(text)?.[1] ?? 'a';
    return fc.constantFrom(
      `{"${first}":${JSON.stringify(HOSTILE[4])},${text.slice(1)}`, // a duplicate key (the last one wins in JSON.parse)
      `${text.slice(0, -1)},"${first}":[]}`,
      `{"__proto__":{"admin":true},${text.slice(1)}`,
      `{"constructor":{"prototype":{"admin":true}},${text.slice(1)}`,
    );
  });
  return fc.oneof(
    { weight: 2, arbitrary: valueFor(shape, pools).map((v) => JSON.stringify(v)) },
    { weight: 5, arbitrary: mutatedFor(shape, pools).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: spliced },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES) },
  );
}

/** A query string (without `?`) from the route's query parameters, valid or with one hostile value, or raw. */
export function queryFor(parameters: { name: string; schema: Schema }[], pools: Pools): fc.Arbitrary<string> {
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const p of parameters) record[p.name] = valueFor(p.schema, pools);
  const valid = fc.record(record, { requiredKeys: [] });
  const encode = (values: Record<string, unknown>) => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(values)) for (const item of Array.isArray(v) ? v : [v]) search.append(k, typeof item === 'string' ? item : JSON.stringify(item));
    return search.toString();
  };
  const names = parameters.map((p) => p.name);
  const mutated = fc.tuple(valid, fc.constantFrom(...names, 'unknown_param', '__proto__'), fc.constantFrom(...HOSTILE)).map(([values, name, hostile]) => encode({ ...values, [name]: hostile }));
  const raw = fc.constantFrom('limit=1e999', 'limit=-0', 'limit=1&limit=2', 'cursor[]=x', 'a=%ZZ', '%E0%A4%A', 'status=paid&status=pending', `q=${'x'.repeat(9000)}`, '__proto__[admin]=1', 'constructor.prototype.admin=1');
  return fc.oneof({ weight: 2, arbitrary: valid.map(encode) }, { weight: 5, arbitrary: mutated }, { weight: 1, arbitrary: raw });
}
