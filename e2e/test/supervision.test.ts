import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { CACHE_DIR } from '@eshop/scripts/paths';
import { Stack } from '@eshop/scripts';

/** Whether a process with this id still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it('restarts a killed service with a growing backoff, saying how it ended; leaves a stopped one stopped and nothing behind', async () => {
  // inventory alone, which needs neither Kafka nor Jaeger: pointing both elsewhere keeps the stack from starting them.
  const elsewhere = { KAFKA_BROKERS: '127.0.0.1:9', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' };
  Object.assign(process.env, elsewhere);
  const said: string[] = [];
  const pids: number[] = [];
  const stack = await Stack.start({
    output: 'files',
    runDir: join(CACHE_DIR, 'e2e-supervision'),
    services: ['inventory'],
    progress: (line) => said.push(line),
  }).finally(() => {
    for (const name of Object.keys(elsewhere)) delete process.env[name];
  });
  try {
    for (const waitS of [1, 2]) {
      pids.push(stack.servicePid('inventory')!);
      await stack.killService('inventory');
      assert.ok(
        said.includes(`inventory exited (signal SIGKILL); restarting it in ${waitS} s`),
        `said: ${said.join(' | ')}`,
      );
      await stack.untilReady('inventory');
      assert.ok(!pids.includes(stack.servicePid('inventory')!), 'a new process');
    }
    pids.push(stack.servicePid('inventory')!);
    assert.equal(await stack.stopService('inventory'), 0, 'exit code after SIGTERM');
    // The supervisor decides when the process exits, and says so: by now it has, or never will.
    assert.equal(said.filter((line) => line.includes('restarting')).length, 2, 'the stopped service stays stopped');

    await stack.startService('inventory');
    pids.push(stack.servicePid('inventory')!);
  } finally {
    await stack.stop();
  }
  assert.deepEqual(pids.filter(alive), [], 'no process left behind');
});
