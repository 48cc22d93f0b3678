/** Removes the last occurrence of each value (nix-runner appends its entries). */
export function removeEach(list: string[], values: string[]): string[] {
  const result = [...list];
  for (const value of values) {
    const index = result.lastIndexOf(value);
    if (index >= 0) result.splice(index, 1);
  }
  return result;
}

export function missingFrom(list: string[], values: string[]): string[] {
  return [...new Set(values)].filter((value) => !list.includes(value));
}
