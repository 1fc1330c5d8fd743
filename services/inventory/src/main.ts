import { faultFromEnv } from '@eshop/faults';
import { main, runService } from '@eshop/http';
import { createApp } from './app';
import { loadConfig } from './config';
import { Stock } from './stock';

main(async () => {
  const config = loadConfig();
  const stock = new Stock(config.INVENTORY_DB, config.INITIAL_STOCK, faultFromEnv('out-of-stock', config));
  await runService('inventory', createApp(stock), config.PORT, () => stock.close());
});
