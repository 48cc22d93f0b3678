// What the benches report their figures with.

/** The middle value (the upper one of an even count): what a bench quotes of its runs. */
export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Bytes as decimal megabytes, one decimal. */
export const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
