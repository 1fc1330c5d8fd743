// `pnpm provision`: fetches Kafka's jars and builds Jaeger into the cache, if they are not there yet. `pnpm start`
// does the same on its way; CI runs this first so that the tests' start-up is not a first build.
import { ensureJaegerBinary, ensureKafkaJars } from '../provision';

const say = (message: string) => console.log(`[provision] ${message}`);

Promise.all([ensureKafkaJars(say), ensureJaegerBinary(say)]).then(
  ([kafka, jaeger]) => say(`ready: Kafka jars in ${kafka}, Jaeger at ${jaeger}`),
  (error: unknown) => {
    console.error(`[provision] ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
