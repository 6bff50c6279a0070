import Table from 'cli-table3';

export interface OutputOptions {
  json: boolean;
}

/** Where command output goes; tests capture it. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Prints rows as a table (humans) or the raw value as JSON (scripts). */
export function printList(io: Output, opts: OutputOptions, value: { items: Record<string, unknown>[]; nextCursor?: string | null }, columns: string[]): void {
  if (opts.json) return io.out(JSON.stringify(value, null, 2) + '\n');
  if (value.items.length === 0) return io.out('(none)\n');
  const table = new Table({ head: columns, style: { head: [], border: [] } });
  for (const item of value.items) table.push(columns.map((c) => cell(item[c])));
  io.out(table.toString() + '\n');
  if (value.nextCursor) io.out(`more: --cursor ${value.nextCursor}\n`);
}

/** Prints one object as two columns, or as JSON. */
export function printObject(io: Output, opts: OutputOptions, value: Record<string, unknown>, note?: string): void {
  if (opts.json) return io.out(JSON.stringify(value, null, 2) + '\n');
  const table = new Table({ style: { head: [], border: [] } });
  for (const [k, v] of Object.entries(value)) table.push({ [k]: cell(v) });
  io.out(table.toString() + '\n');
  if (note) io.out(note + '\n');
}
