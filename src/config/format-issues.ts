import type { z } from 'zod';

function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

/** Zod issues as `• expected string at runners[0]` lines. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = formatPath(issue.path);
    // A bad record key: zod says "Invalid key in record" and keeps the key schema's own words inside.
    const nested = issue.code === 'invalid_key' ? issue.issues.map((inner) => inner.message).join('; ') : '';
    return `• ${nested || issue.message}${where ? ` at ${where}` : ''}`;
  });
}
