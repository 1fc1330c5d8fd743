import { faultFromEnv } from '@eshop/faults';
import { main, runService } from '@eshop/http';
import { createApp } from './app';
import { loadConfig } from './config';
import { Mailbox } from './mailbox';

main(async () => {
  const config = loadConfig();
  const mailbox = new Mailbox(config.NOTIFICATION_DB, faultFromEnv('email-fails', config));
  await runService('notification', createApp(mailbox), config.PORT, () => mailbox.close());
});
