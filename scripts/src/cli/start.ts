// `pnpm start`: provisions what is missing, starts Kafka, Jaeger and the six services in the foreground, and
// stops all of them on Ctrl-C or SIGTERM.
import { SetupError } from '../processes';
import { Stack, ZIPKIN_URL } from '../stack';

const say = (message: string) => console.log(`[eshop] ${message}`);

async function main(): Promise<void> {
  // eslint-disable-next-line prefer-const -- stop() may run, and read it, while the stack is still starting.
  let stack: Stack | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    await stack?.stop();
    say('stopped');
    process.exit(0);
  };
  const onSignal = () => {
    stop().catch((error: unknown) => {
      console.error(`[eshop] stopping failed: ${error instanceof Error ? error.stack : String(error)}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);

  stack = await Stack.start({ output: 'terminal', progress: say });
  say(`Jaeger query API: ${stack.jaegerQueryUrl}/api/services  (no web UI natively: use \`npm run trace <traceId>\`)`);
  if (stack.tracePipeline === 'kafka') say(`Zipkin, the trace UI: ${ZIPKIN_URL}  (spans reach it through Kafka)`);
  for (const { name, url } of stack.endpoints) say(`${name.padEnd(17)} ${url}`);
  say(`ready: open the storefront at ${stack.url('eshop')}/ to place an order and watch its trace, or`);
  say(`       curl -s -X POST ${stack.url('eshop')}/checkout -H 'content-type: application/json' \\`);
  say(`         -d '{"email":"ada@example.com","items":[{"sku":"SKU-1","quantity":2}]}'`);
}

main().catch((error: unknown) => {
  console.error(
    `[eshop] ${error instanceof SetupError ? error.message : error instanceof Error ? error.stack : String(error)}`,
  );
  process.exit(1);
});
