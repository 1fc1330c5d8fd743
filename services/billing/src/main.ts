import { faultFromEnv } from '@eshop/faults';
import { main, runService } from '@eshop/http';
import { createApp } from './app';
import { loadConfig } from './config';
import { Payments } from './payments';

main(async () => {
  const config = loadConfig();
  await runService('billing', createApp(new Payments(faultFromEnv('payment-declined', config))), config.PORT);
});
