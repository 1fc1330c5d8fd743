import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OrderLedger } from '../src';

interface Charge {
  id: string;
  status: 'charged' | 'refunded';
}

const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => join(dir, `ledger-${++files}.db`);

/** Opens `path`, runs `use` on it and closes it, as one run of a service between two restarts. */
function run<R>(path: string, use: (ledger: OrderLedger<Charge>) => R): R {
  const ledger = new OrderLedger<Charge>(path);
  try {
    return use(ledger);
  } finally {
    ledger.close();
  }
}

describe('OrderLedger', () => {
  it('keeps the first record of an order: a repeat, after a restart too, gets it without making another', () => {
    const path = newFile();
    const first = run(path, (ledger) => ledger.do('order-1', () => ({ id: 'charge-1', status: 'charged' })));
    assert.deepEqual(first, { id: 'charge-1', status: 'charged' });
    run(path, (ledger) => {
      const again = ledger.do('order-1', () => assert.fail('made a second record'));
      assert.deepEqual(again, first);
      assert.deepEqual(ledger.entry('order-1'), { record: first, undone: false });
    });
  });

  it('undoes an order once; after a restart it is still undone, and a late do is refused', () => {
    const path = newFile();
    let changes = 0;
    const refund = (charge: Charge): Charge => {
      changes++;
      return { ...charge, status: 'refunded' };
    };
    run(path, (ledger) => {
      ledger.do('order-1', () => ({ id: 'charge-1', status: 'charged' }));
      assert.deepEqual(ledger.undo('order-1', refund), { id: 'charge-1', status: 'refunded' });
    });
    run(path, (ledger) => {
      assert.deepEqual(ledger.undo('order-1', refund), { id: 'charge-1', status: 'refunded' });
      assert.equal(changes, 1, 'undone once');
      assert.equal(
        ledger.do('order-1', () => assert.fail('done after its undo')),
        undefined,
      );
      assert.deepEqual(ledger.entry('order-1'), { record: { id: 'charge-1', status: 'refunded' }, undone: true });
    });
  });

  it('remembers an undo that came before anything was done, across a restart', () => {
    const path = newFile();
    run(path, (ledger) => assert.equal(ledger.undo('order-2'), undefined));
    run(path, (ledger) => {
      assert.equal(
        ledger.do('order-2', () => assert.fail('done after its undo')),
        undefined,
      );
      assert.deepEqual(ledger.entry('order-2'), { record: undefined, undone: true });
    });
  });

  it('commits what `do` writes beside the record with it, or nothing when it throws', () => {
    const path = newFile();
    const withCounter = () => {
      const ledger = new OrderLedger<Charge>(
        path,
        'CREATE TABLE IF NOT EXISTS counter (n INTEGER NOT NULL); INSERT INTO counter SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM counter);',
      );
      const bump = ledger.db.prepare('UPDATE counter SET n = n + 1');
      const read = () => Number(ledger.db.prepare('SELECT n FROM counter').get()?.n);
      return { ledger, bump, read };
    };
    const first = withCounter();
    assert.throws(() =>
      first.ledger.do('order-3', () => {
        first.bump.run();
        throw new Error('declined');
      }),
    );
    first.ledger.do('order-4', () => {
      first.bump.run();
      return { id: 'charge-4', status: 'charged' };
    });
    first.ledger.close();

    const reopened = withCounter();
    assert.equal(reopened.read(), 1, 'only the committed step counted');
    assert.deepEqual(reopened.ledger.entry('order-3'), { record: undefined, undone: false });
    reopened.ledger.close();
  });

  it('stores an updated record, and leaves an order without one alone', () => {
    const path = newFile();
    run(path, (ledger) => {
      ledger.do('order-5', () => ({ id: 'charge-5', status: 'charged' }));
      ledger.update('order-5', { id: 'charge-5', status: 'refunded' });
      ledger.update('order-6', { id: 'charge-6', status: 'charged' });
    });
    run(path, (ledger) => {
      assert.deepEqual(ledger.entry('order-5').record, { id: 'charge-5', status: 'refunded' });
      assert.deepEqual(ledger.entry('order-6'), { record: undefined, undone: false });
    });
  });
});
