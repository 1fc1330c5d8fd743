import { faultFromEnv } from '@eshop/faults';
import { main, runService } from '@eshop/http';
import { createApp } from './app';
import { loadConfig } from './config';
import { Payments } from './payments';

main(async () => {
  const config = loadConfig();
  const payments = new Payments(config.BILLING_DB, faultFromEnv('payment-declined', config));
  await runService('billing', createApp(payments), config.PORT, () => payments.close());
});
