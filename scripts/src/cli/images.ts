// `pnpm images [image...]`: makes every image (or those named) that .env and the Dockerfile name present in the local Docker engine, pulling
// each where a registry serves it and building a stand-in where none does (scripts/src/images.ts).
import { ensureImages } from '../images';

const say = (message: string) => console.log(`[images] ${message}`);

ensureImages(say, process.argv.slice(2)).then(
  () => say('ready'),
  (error: unknown) => {
    console.error(`[images] ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
