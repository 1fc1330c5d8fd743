/**
 * Runs a command's `main`: the number it returns is the exit code; an error it throws is printed as one line,
 * without a stack (it is the user's to read, not a bug report), and exits 1.
 */
export function runCommand(main: () => Promise<number>): void {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
