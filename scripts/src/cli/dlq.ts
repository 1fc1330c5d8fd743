// `pnpm dlq`: lists the messages of every dead-letter topic, with why each was dead-lettered and its trace id.
// `pnpm dlq replay <topic> <partition:offset | order id>...`: sends the chosen ones back to the topic they came from,
// with their original headers, so that they are consumed again in their checkout's trace.
import { DELIVERY_DEAD_LETTER_TOPIC, ORDERS_DEAD_LETTER_TOPIC } from '@eshop/events';
import { runCommand } from '../command';
import { DeadLetterTopics, describeDeadLetter, type DeadLetter } from '../dlq';

const TOPICS = [ORDERS_DEAD_LETTER_TOPIC, DELIVERY_DEAD_LETTER_TOPIC];
const USAGE = `usage: pnpm dlq                                              list every dead-letter topic
       pnpm dlq replay <topic> <partition:offset | order id>...  replay the chosen messages
topics: ${TOPICS.join(', ')}; Kafka: KAFKA_BROKERS (default 127.0.0.1:9092)`;

/** The letters each selector names: `3:12` is partition 3, offset 12; anything else an order id. */
function choose(letters: DeadLetter[], selectors: string[]): { chosen: DeadLetter[]; unmatched: string[] } {
  const chosen = new Set<DeadLetter>();
  const unmatched: string[] = [];
  for (const selector of selectors) {
    const place = /^(\d+):(\d+)$/.exec(selector);
    const matches = letters.filter((letter) =>
      place ? letter.partition === Number(place[1]) && letter.offset === place[2] : letter.key === selector,
    );
    if (matches.length === 0) unmatched.push(selector);
    for (const letter of matches) chosen.add(letter);
  }
  return { chosen: [...chosen], unmatched };
}

async function main(): Promise<number> {
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((broker) => broker.trim());
  const topics = new DeadLetterTopics(brokers);
  const [command, topic, ...selectors] = process.argv.slice(2);
  if (command === undefined || command === 'list') {
    for (const name of TOPICS) {
      const letters = await topics.read(name);
      console.log(`${name}: ${letters.length} message(s)`);
      for (const letter of letters) console.log(`  ${describeDeadLetter(letter)}`);
    }
    return 0;
  }
  if (command !== 'replay' || !TOPICS.includes(topic) || selectors.length === 0) {
    console.error(USAGE);
    return 2;
  }
  const { chosen, unmatched } = choose(await topics.read(topic), selectors);
  if (unmatched.length > 0) {
    console.error(`nothing replayed: no message of ${topic} is ${unmatched.join(', ')}`);
    return 1;
  }
  await topics.replay(chosen);
  for (const letter of chosen) console.log(`replayed to ${letter.from.topic}: ${describeDeadLetter(letter)}`);
  return 0;
}

runCommand(main);
