import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { REPO_ROOT } from '@eshop/scripts/paths';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`), which `.ci/run` installs; CHROMIUM_PATH for another. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots of the browser tests, kept out of git (.gitignore). */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'e2e', 'artifacts');

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** Whether a request for `url` would go to another machine (`data:` URLs go nowhere). */
const leavesMachine = (url: string) => {
  const { protocol, hostname } = new URL(url);
  return protocol !== 'data:' && !LOCAL_HOSTS.has(hostname);
};

/** A page, and what it did: every URL it asked for and every console error or uncaught exception. */
export interface WatchedPage {
  page: Page;
  requests: string[];
  consoleErrors: string[];
  /** Asserts that no request left this machine. */
  assertStayedLocal(): void;
}

/** One headless Chromium for a test file, started in `before` and closed in `after`. */
export function useBrowser() {
  let browser: Browser | undefined;
  before(async () => {
    // As root (CI containers), Chromium runs only without its sandbox.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    await mkdir(ARTIFACTS_DIR, { recursive: true });
  });
  after(async () => {
    await browser?.close();
  });
  return {
    async newPage(): Promise<WatchedPage> {
      const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const requests: string[] = [];
      const consoleErrors: string[] = [];
      // Everything the page asks for is seen here; anything for another machine is refused, then reported.
      await context.route('**/*', (route) => (leavesMachine(route.request().url()) ? route.abort() : route.continue()));
      page.on('request', (request) => requests.push(request.url()));
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location().url})`);
      });
      page.on('pageerror', (error) => consoleErrors.push(String(error)));
      return {
        page,
        requests,
        consoleErrors,
        assertStayedLocal: () => {
          assert.ok(requests.length > 0, 'the page made requests');
          const away = requests.filter(leavesMachine);
          assert.deepEqual(away, [], 'every request stays on this machine');
        },
      };
    },
    screenshot: (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS_DIR, name), fullPage: true }),
  };
}
