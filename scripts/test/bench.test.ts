import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { between, handledMessages } from '../src/bench/consumer-log';

describe("pnpm bench's reading of kafka-consumer's log", () => {
  it('takes the queue time of each `orders` event handled, by partition and offset', async () => {
    const handled = (topic: string, partition: number, offset: string, queueMs: number) =>
      JSON.stringify({
        level: 'info',
        time: '2026-12-02T07:00:00.250Z',
        service: 'kafka-consumer',
        topic,
        partition,
        offset,
        queue_ms: queueMs,
        outcome: 'delivered',
        msg: 'message handled',
      });
    const file = join(await mkdtemp(join(tmpdir(), 'bench-log-')), 'kafka-consumer.log');
    await writeFile(
      file,
      [
        handled('orders', 0, '7', 12),
        JSON.stringify({ level: 'info', msg: 'notification failed; retrying', topic: 'orders', queue_ms: 99 }),
        handled('orders.DLQ', 0, '8', 99),
        handled('orders', 1, '3', 4),
        'a line that is not JSON',
        handled('orders', 1, '5', 40),
      ].join('\n'),
    );
    const messages = await handledMessages(file);
    assert.deepEqual(
      messages.map(({ partition, offset, queueMs, at }) => [partition, offset, queueMs, at]),
      [
        [0, 7, 12, Date.parse('2026-12-02T07:00:00.250Z')],
        [1, 3, 4, Date.parse('2026-12-02T07:00:00.250Z')],
        [1, 5, 40, Date.parse('2026-12-02T07:00:00.250Z')],
      ],
    );
    const phase = between(
      messages,
      new Map([
        [0, 7],
        [1, 4],
      ]),
      new Map([
        [0, 8],
        [1, 6],
      ]),
    );
    assert.deepEqual(
      phase.map((message) => message.queueMs),
      [12, 40],
    );
  });
});
