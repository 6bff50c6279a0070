import { describe, expect, it } from 'vitest';
import { compose } from './compose.js';
import type { RequestContext, Stage } from './context.js';

const ctx = {} as RequestContext;

function stage(name: string, log: string[], result?: { code: 'rate_limited' }, async = false): Stage {
  return {
    name,
    run() {
      log.push(name);
      return async ? Promise.resolve(result) : result;
    },
  };
}

describe('compose', () => {
  it('runs stages in order and stays synchronous when every stage is', () => {
    const log: string[] = [];
    const run = compose([stage('a', log), stage('b', log), stage('c', log)]);
    expect(run(ctx)).toBeUndefined();
    expect(log).toEqual(['a', 'b', 'c']);
  });

  it('stops at the first refusal', () => {
    const log: string[] = [];
    const run = compose([stage('a', log), stage('b', log, { code: 'rate_limited' }), stage('c', log)]);
    expect(run(ctx)).toEqual({ code: 'rate_limited' });
    expect(log).toEqual(['a', 'b']);
  });

  it('continues after an async stage and keeps the order', async () => {
    const log: string[] = [];
    const run = compose([stage('a', log), stage('b', log, undefined, true), stage('c', log), stage('d', log, { code: 'rate_limited' }, true), stage('e', log)]);
    const result = run(ctx);
    expect(result).toBeInstanceOf(Promise);
    expect(await result).toEqual({ code: 'rate_limited' });
    expect(log).toEqual(['a', 'b', 'c', 'd']);
  });
});
