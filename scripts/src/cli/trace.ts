// `npm run trace <traceId>` (or `pnpm trace`): prints a trace's span tree from Jaeger's query API. Jaeger built from its Go module
// has no web UI, so this is how a trace is seen natively.
import { JaegerQuery } from '@eshop/jaeger-query';
import { runCommand } from '../command';
import { JAEGER_QUERY_URL } from '../paths';
import { renderTraceTree } from '../trace-tree';

async function main(): Promise<number> {
  const traceId = process.argv[2];
  if (!traceId || !/^[0-9a-f]{32}$/.test(traceId)) {
    console.error(
      'usage: npm run trace <traceId>   (32 hex digits, as in the checkout answer or its traceresponse header)',
    );
    return 2;
  }
  const jaeger = new JaegerQuery(JAEGER_QUERY_URL, 30_000);
  const spans = await jaeger.trace(traceId);
  if (spans.length === 0) {
    console.error(`Jaeger has no trace ${traceId} (yet: spans arrive about a second after the request).`);
    return 1;
  }
  const services = new Set(spans.map((span) => span.service));
  console.log(`trace ${traceId}: ${spans.length} spans, ${services.size} services\n`);
  console.log(renderTraceTree(spans));
  return 0;
}

runCommand(main);
