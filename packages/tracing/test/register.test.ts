import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/** Whether `http.request` is wrapped by the http instrumentation in a process started as the services are. */
function httpPatched(env: NodeJS.ProcessEnv): boolean {
  const register = join(__dirname, '..', 'src', 'register.js');
  const script = "process.stdout.write(String(Boolean(require('node:http').request.__wrapped)))";
  return execFileSync(process.execPath, ['--require', register, '-e', script], { env, encoding: 'utf8' }) === 'true';
}

describe('the preloaded bootstrap', () => {
  it('patches http when tracing is on', () => {
    assert.equal(httpPatched({ ...process.env, OTEL_SDK_DISABLED: 'false' }), true);
  });

  it('patches nothing when OTEL_SDK_DISABLED is true, so an untraced run pays for no instrumentation', () => {
    assert.equal(httpPatched({ ...process.env, OTEL_SDK_DISABLED: 'true' }), false);
  });
});
