import { faultFromEnv } from '@eshop/faults';
import { main, runService } from '@eshop/http';
import { createApp } from './app';
import { loadConfig } from './config';
import { Schedule } from './schedule';

main(async () => {
  const config = loadConfig();
  await runService('delivery', createApp(new Schedule(faultFromEnv('delivery-slow', config))), config.PORT);
});
