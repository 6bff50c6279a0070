import type { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { PublicError } from '../../errors/codes.js';
import { csvRows, jsonRows } from '../../keys/import.js';
import type { AdminApp, AdminDeps } from '../server.js';
import { CommonErrors, Id } from '../schemas.js';

const ImportItem = Type.Object(
  {
    key: Type.String({ description: 'the key value (20-256 printable ASCII)' }),
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    enabled: Type.Optional(Type.Union([Type.Boolean(), Type.String()])),
    usageplanIds: Type.Optional(Type.String({ description: 'a plan id or name (AWS column name)' })),
    planId: Type.Optional(Type.String()),
    app: Type.Optional(Type.String({ description: 'app id or name' })),
    appId: Type.Optional(Type.String()),
    expiresAt: Type.Optional(Type.String()),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: true },
);

export function keysImport(app: AdminApp, { importer }: AdminDeps): void {
  // CSV bodies are handed over as a stream: an import of any size is never held in memory.
  app.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));
  app.post(
    '/v1/keys/import',
    {
      config: { scope: 'write' },
      bodyLimit: 64 * 1024 * 1024,
      schema: {
        tags: ['keys'],
        summary: 'Import existing key values: CSV (text/csv, AWS API Gateway format name,key,description,enabled,usageplanIds, optional app) or JSON {items}',
        querystring: Type.Object({ appId: Type.Optional(Id) }, { additionalProperties: false }),
        body: Type.Union([Type.Object({ items: Type.Array(ImportItem, { maxItems: 1_000_000 }) }, { additionalProperties: false }), Type.Any()]),
        response: {
          200: Type.Object({
            imported: Type.Integer(),
            failed: Type.Array(Type.Object({ line: Type.Integer(), code: Type.String(), detail: Type.String() })),
          }),
          ...CommonErrors,
        },
      },
    },
    async (request) => {
      const type = String(request.headers['content-type'] ?? '');
      const body = request.body as Readable | { items?: Array<Record<string, unknown>> };
      let rows;
      if (type.startsWith('text/csv')) rows = csvRows(body as Readable);
      else if (body && typeof body === 'object' && Array.isArray((body as { items?: unknown }).items)) rows = jsonRows((body as { items: Array<Record<string, unknown>> }).items);
      else throw new PublicError('invalid_request', 'send text/csv, or application/json {"items": [...]}');
      return importer.run(request.caller!.actor, rows, request.query.appId);
    },
  );
}
