/** What every scenario returns: `ok` false when the code (not the timing) looks broken. */
export interface ScenarioResult {
  ok: boolean;
  problems: string[];
}

/** Runs a scenario as a script: prints its problems and sets the exit code (1 on a problem or a crash). */
export function runAsScript(scenario: () => Promise<ScenarioResult>): void {
  scenario()
    .then(({ ok, problems }) => {
      for (const problem of problems) console.error(`FAIL: ${problem}`);
      process.exitCode = ok ? 0 : 1;
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
