import { faultFromEnv } from '@eshop/faults';
import { main, runService } from '@eshop/http';
import { createApp } from './app';
import { loadConfig } from './config';
import { Mailbox } from './mailbox';

main(async () => {
  const config = loadConfig();
  await runService(
    'notification',
    createApp(new Mailbox(config.MAILBOX_SIZE, faultFromEnv('email-fails', config))),
    config.PORT,
  );
});
