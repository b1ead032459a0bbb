import { Logger } from '@nestjs/common';
import { createApp } from './server/app';
import { ConfigError, loadConfig } from './server/infra/config/app-config';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`earshot: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const app = await createApp(config);
  new Logger('Device').log(config.engine.deviceAssignment);
  if (config.jobs.role === 'worker') {
    // A worker node runs jobs from Redis and serves no HTTP.
    await app.init();
    // Start-up logs are buffered until the HTTP server listens, which a worker never does.
    app.flushLogs();
    new Logger('Earshot').log(`job worker started (device ${config.engine.device})`);
    return;
  }
  await app.listen(config.server.port, config.server.host);
  new Logger('Earshot').log(
    `listening on http://${config.server.host}:${config.server.port} (device ${config.engine.device}, role ${config.jobs.role}, docs at /docs)`,
  );
}

void main();
