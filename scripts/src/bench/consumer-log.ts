import { readFile } from 'node:fs/promises';
import { ORDERS_TOPIC } from '@eshop/events';
import type { Offsets } from './kafka';

/** One `message handled` line of kafka-consumer's log, written once the e-mail of an event was confirmed. */
export interface HandledMessage {
  partition: number;
  offset: number;
  /** From the event's Kafka timestamp to the start of its processing, as kafka-consumer measured it. */
  queueMs: number;
  /** When the line was written (ms since the epoch). */
  at: number;
}

/** The `orders` events kafka-consumer's log says it handled. Traced or not, the service writes these lines. */
export async function handledMessages(logFile: string): Promise<HandledMessage[]> {
  const log = await readFile(logFile, 'utf8');
  const handled: HandledMessage[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes('"message handled"')) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry.msg !== 'message handled' || entry.topic !== ORDERS_TOPIC) continue;
    handled.push({
      partition: Number(entry.partition),
      offset: Number(entry.offset),
      queueMs: Number(entry.queue_ms),
      at: Date.parse(String(entry.time)),
    });
  }
  return handled;
}

/** The messages with offsets from `from` (included) to `to` (excluded) in their partition. */
export function between(handled: HandledMessage[], from: Offsets, to: Offsets): HandledMessage[] {
  return handled.filter(
    ({ partition, offset }) => offset >= (from.get(partition) ?? 0) && offset < (to.get(partition) ?? 0),
  );
}
