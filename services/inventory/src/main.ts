import { main, runService } from '@eshop/http';
import { createApp } from './app';
import { loadConfig } from './config';
import { Stock } from './stock';

main(async () => {
  const config = loadConfig();
  await runService('inventory', createApp(new Stock(config.INITIAL_STOCK)), config.PORT);
});
