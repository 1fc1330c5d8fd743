import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { SetupError } from '../src/processes';
import { ensureKafkaJars } from '../src/provision';
import { kafkaNodes, newClusterId, replication, Stack } from '../src/stack';

/** Takes a port, unless something (a running stack, say) already has it: either way it is taken. */
async function occupy(port: number): Promise<Server | undefined> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    return server;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') return undefined;
    throw error;
  }
}

describe('Stack.start', () => {
  it('stops with one clear message when a port it needs is taken', async () => {
    const squatter = await occupy(8083);
    try {
      await assert.rejects(
        Stack.start({ output: 'files' }),
        (error: unknown) => error instanceof SetupError && /port .*8083.* already in use/.test(error.message),
      );
    } finally {
      squatter?.close();
    }
  });
});

describe('Kafka for the stack, without Java', () => {
  // The provisioning step itself, not Stack.start: that checks its ports first, and they are taken when a stack runs.
  it('stops with one clear message that says what to install', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await assert.rejects(
        ensureKafkaJars(() => {}),
        (error: unknown) => error instanceof SetupError && /`java` not found\. .*install a JDK/.test(error.message),
      );
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('newClusterId', () => {
  it('makes 22-character URL-safe ids that the storage tool cannot take for an option', () => {
    // One random id in 64 starts with '-'; a thousand would all but surely include some.
    for (let i = 0; i < 1000; i++) assert.match(newClusterId(), /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});

describe('the native Kafka cluster', () => {
  it('puts node n on broker port 9090 + 2n and controller port 9091 + 2n', () => {
    assert.deepEqual(kafkaNodes(3), [
      { id: 1, brokerPort: 9092, controllerPort: 9093 },
      { id: 2, brokerPort: 9094, controllerPort: 9095 },
      { id: 3, brokerPort: 9096, controllerPort: 9097 },
    ]);
  });

  it('keeps min(3, nodes) copies, two in sync once there are three', () => {
    assert.deepEqual(replication(1), { factor: 1, minInSync: 1 });
    assert.deepEqual(replication(2), { factor: 2, minInSync: 1 });
    assert.deepEqual(replication(3), { factor: 3, minInSync: 2 });
  });
});
