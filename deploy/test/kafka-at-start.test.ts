import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { SERVICE_NODE_ARGS } from '@eshop/scripts';
import { freePort, REPO_ROOT } from '../src/run';

// Kubernetes starts every pod at once: eshop and kafka-consumer may well start before any Kafka node answers.
// They must wait for it, saying so, rather than exit into a crash loop. No broker is needed to check that.

const RETRIES_SEEN = 2;
const DEADLINE_MS = 30_000;

describe('started before Kafka', { concurrency: true }, () => {
  for (const service of ['eshop', 'kafka-consumer', 'delivery']) {
    it(`${service} keeps trying Kafka with a growing, logged wait instead of exiting`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `eshop-${service}-`));
      const port = await freePort();
      const child = spawn(process.execPath, SERVICE_NODE_ARGS, {
        cwd: join(REPO_ROOT, 'services', service),
        env: {
          PATH: process.env.PATH,
          // A Kafka that is not up yet: nothing listens there.
          KAFKA_BROKERS: `127.0.0.1:${await freePort()}`,
          PORT: String(port),
          OUTBOX_DB: join(dir, 'outbox.db'),
          DELIVERY_DB: join(dir, 'delivery.db'),
          OTEL_SDK_DISABLED: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        const deadline = Date.now() + DEADLINE_MS;
        while (retryWaits(output).length < RETRIES_SEEN && child.exitCode === null && Date.now() < deadline) {
          await delay(100);
        }
        const waits = retryWaits(output);
        assert.equal(child.exitCode, null, `${service} exited:\n${output.slice(-3000)}`);
        assert.ok(waits.length >= RETRIES_SEEN, `${service} logged no retries:\n${output.slice(-3000)}`);
        assert.ok(waits[1] > waits[0], `the wait grows: ${waits.join(', ')} ms`);
        if (service === 'delivery') {
          // It answers checkouts meanwhile: ready, with its consumer group's state as a detail, not a condition.
          const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
          const body = (await ready.json()) as { consumer?: { group: string; inGroup: boolean } };
          assert.equal(ready.status, 200, `delivery not ready without Kafka: ${JSON.stringify(body)}`);
          assert.deepEqual(body.consumer && [body.consumer.group, body.consumer.inGroup], ['delivery', false]);
        }
      } finally {
        child.kill('SIGKILL');
        await exited;
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

/** The waits announced by the service's "trying again" log lines, in order. */
function retryWaits(output: string): number[] {
  return output
    .split('\n')
    .filter((line) => line.includes('trying again'))
    .map((line) => (JSON.parse(line) as { retryInMs: number }).retryInMs);
}
