import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS; its default export arrives wrapped under native ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    // Bodies are taken as typed: "5" is not a number. Query strings and path params are text.
    coerceTypes: coerce ? 'array' : false,
    removeAdditional: false,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

const bodyAjv = makeAjv(false);
const textAjv = makeAjv(true);

/** Request validation: strict for JSON bodies, coercing for query strings and params. */
export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const validate = (httpPart === 'body' ? bodyAjv : textAjv).compile(schema);
  return (data: unknown) => (validate(data) ? { value: data } : { error: validate.errors as unknown as Error });
};

export interface FieldError {
  field: string;
  message: string;
}

/** Turns ajv errors into `{field, message}` pairs a client can act on. */
export function fieldErrors(errors: ErrorObject[], context: string | undefined): FieldError[] {
  const prefix = context && context !== 'body' ? `${context === 'querystring' ? 'query' : context}.` : '';
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of errors) {
    const path = e.instancePath
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .join('.');
    let field = path;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      field = [path, (e.params as { missingProperty: string }).missingProperty].filter(Boolean).join('.');
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      field = [path, (e.params as { additionalProperty: string }).additionalProperty].filter(Boolean).join('.');
      message = 'is not a known field';
    } else if (e.keyword === 'anyOf') {
      continue; // the branch errors say more
    }
    const key = `${prefix}${field}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ field: `${prefix}${field}` || '(body)', message });
  }
  return out;
}
