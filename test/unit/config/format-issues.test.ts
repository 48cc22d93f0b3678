import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { formatIssues } from '../../../src/config/format-issues.js';

function issuesOf(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value);
  if (result.success) throw new Error('expected the value to be invalid');
  return formatIssues(result.error);
}

describe('formatIssues', () => {
  it('gives each issue one bullet line with its path: dots for keys, brackets for indexes', () => {
    const schema = z.object({ name: z.string(), list: z.array(z.number()), nested: z.object({ inner: z.object({ flag: z.boolean() }) }) });
    expect(issuesOf(schema, { name: 1, list: [1, 'x'], nested: { inner: { flag: 'no' } } })).toEqual([
      '• Invalid input: expected string, received number at name',
      '• Invalid input: expected number, received string at list[1]',
      '• Invalid input: expected boolean, received string at nested.inner.flag',
    ]);
  });

  it('starts a path with an index in brackets', () => {
    expect(issuesOf(z.array(z.object({ name: z.string() })), [{ name: 'a' }, {}])).toEqual(['• Invalid input: expected string, received undefined at [1].name']);
  });

  it('leaves out `at` for an issue without a path', () => {
    expect(issuesOf(z.string(), 1)).toEqual(['• Invalid input: expected string, received number']);
  });

  it('uses a custom message as it is', () => {
    const schema = z.object({ port: z.number().refine((n) => n > 0, 'a positive port') });
    expect(issuesOf(schema, { port: 0 })).toEqual(['• a positive port at port']);
  });
});
