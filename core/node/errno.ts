/** True when `error` is a Node system error with this `code` (e.g. `ENOENT`). */
export function hasErrorCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | null | undefined)?.code === code;
}
