import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createNotificationClient } from '@eshop/notification/client';
import { SERVICES } from '@eshop/scripts';
import { JaegerQuery } from '@eshop/jaeger-query';
import { down, isUp, kubectl, up } from '@eshop/scripts/kube';
import { ORDER, poll, postJson, traceWithSpans, type PlacedOrder } from '../src/fixture';

// k8s/ on a real single-node Kubernetes (`pnpm kube up`), reached as a client on the node's network reaches it:
// through the Services' ClusterIPs, which kube-proxy's rules send to the pods. A cluster already up is used and
// left up; otherwise this file brings one up and down.

/** eshop's server span, 3 × (client + callee's server), producer, consumer, consumer's client, notification's server. */
const SPANS_PER_CHECKOUT = 11;
const NAMESPACE = 'eshop';

const say = (message: string) => console.log(`# ${message}`);
const ns = (...args: string[]) => kubectl('-n', NAMESPACE, ...args);
const json = async <T>(...args: string[]) => JSON.parse((await ns(...args, '-o', 'json')).join('\n')) as T;

interface Pod {
  metadata: { name: string; uid: string; labels: Record<string, string> };
  spec: { volumes?: { persistentVolumeClaim?: { claimName: string } }[] };
  status: { phase: string; conditions?: { type: string; status: string }[] };
}
const ready = (pod: Pod) => pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** `http://<ClusterIP>:<port>` of a Service. */
async function serviceUrl(name: string): Promise<string> {
  const service = await json<{ spec: { clusterIP: string; ports: { port: number }[] } }>('get', 'service', name);
  return `http://${service.spec.clusterIP}:${service.spec.ports[0].port}`;
}

async function placeOrder(eshop: string): Promise<PlacedOrder> {
  const response = await postJson(`${eshop}/checkout`, ORDER);
  if (response.status !== 201)
    throw new Error(`checkout answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body as PlacedOrder;
}

async function podsOf(app: string): Promise<Pod[]> {
  return (await json<{ items: Pod[] }>('get', 'pods', '-l', `app=${app}`)).items;
}

/** Checkouts one after another until `stop` resolves; the ids of those answered 201, and how many failed. */
async function checkoutsUntil(eshop: string, stop: Promise<unknown>) {
  let stopped = false;
  void stop.finally(() => (stopped = true));
  const accepted: string[] = [];
  let failed = 0;
  while (!stopped) {
    try {
      accepted.push((await placeOrder(eshop)).orderId);
    } catch {
      failed++;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return { accepted, failed };
}

describe('k8s/ on a real Kubernetes (pnpm kube up)', () => {
  let startedHere = false;
  let eshop = '';
  let notification: ReturnType<typeof createNotificationClient>;
  let jaeger: JaegerQuery;

  before(async () => {
    if (!isUp()) {
      startedHere = true;
      await up(say);
    }
    eshop = await serviceUrl('eshop');
    notification = createNotificationClient(await serviceUrl('notification'));
    jaeger = new JaegerQuery(await serviceUrl('jaeger-query'));
  });
  after(async () => {
    if (startedHere) await down(say);
  });

  /** Waits until every accepted order has its one e-mail. */
  async function eachEmailedOnce(orderIds: string[]) {
    // Asked order by order: GET /emails lists at most 1000, and a minute under load places more than that.
    const missing = async (ids: string[]) => {
      const left: string[] = [];
      for (const id of ids) if ((await notification.emails({ orderId: id })).length === 0) left.push(id);
      return left;
    };
    let waiting = orderIds;
    await poll(
      `e-mails for all ${orderIds.length} orders`,
      async () => (waiting = await missing(waiting)),
      (left) => left.length === 0,
      180_000,
      1000,
    );
    for (const id of orderIds) {
      assert.equal((await notification.emails({ orderId: id })).length, 1, `e-mails for order ${id}`);
    }
  }

  it('runs every pod Ready in a namespace that enforces PodSecurity restricted', async () => {
    const namespace = await kubectl('get', 'namespace', NAMESPACE, '-o', 'jsonpath={.metadata.labels}');
    assert.match(namespace.join(''), /"pod-security.kubernetes.io\/enforce":"restricted"/);
    const pods = (await json<{ items: Pod[] }>('get', 'pods')).items;
    const apps = new Set(pods.map((pod) => pod.metadata.labels.app));
    assert.deepEqual([...apps].sort(), [...SERVICES, 'jaeger', 'kafka'].sort());
    const notReady = pods.filter((pod) => !ready(pod)).map((pod) => `${pod.metadata.name} ${pod.status.phase}`);
    assert.deepEqual(notReady, []);
  });

  it('a checkout through the eshop Service is one trace of six services in Jaeger, and it is e-mailed', async () => {
    const placed = await placeOrder(eshop);
    const spans = await traceWithSpans(jaeger, placed.traceId, SPANS_PER_CHECKOUT);
    assert.equal(spans.length, SPANS_PER_CHECKOUT, spans.map((s) => `${s.service}:${s.name}`).join(', '));
    assert.deepEqual(new Set(spans.map((span) => span.service)), new Set(SERVICES));
    const producer = spans.find((span) => span.kind === 'producer' && span.service === 'eshop');
    const consumer = spans.find((span) => span.kind === 'consumer' && span.service === 'kafka-consumer');
    assert.ok(producer && consumer, 'the trace has the Kafka hop');
    assert.equal(consumer.parentSpanId, producer.spanId, 'the consumer span is a child of the producer span');

    const [email, ...more] = await poll(
      'the e-mail',
      () => notification.emails({ orderId: placed.orderId }),
      (emails) => emails.length > 0,
      60_000,
    );
    assert.equal(more.length, 0);
    assert.equal(email.traceId, placed.traceId);
  });

  it('deleting the pod that leads orders-0, under load, loses no accepted order', async () => {
    const describe = await ns(
      'exec',
      'kafka-0',
      '--',
      '/opt/kafka/bin/kafka-topics.sh',
      '--bootstrap-server',
      'localhost:9092',
      '--describe',
      '--topic',
      'orders',
    );
    const leader = /Partition: 0\s+Leader: (\d+)/.exec(describe.join('\n'))?.[1];
    assert.ok(leader !== undefined, `no leader of orders-0 in:\n${describe.join('\n')}`);
    const victim = `kafka-${leader}`;
    const oldUid = (await json<Pod>('get', 'pod', victim)).metadata.uid;

    const deleted = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      say(`deleting ${victim}, the leader of orders-0`);
      await ns('delete', 'pod', victim, '--wait=true');
      await poll(
        `${victim} back and Ready`,
        () => json<Pod>('get', 'pod', victim),
        (pod) => pod.metadata.uid !== oldUid && ready(pod),
        300_000,
        1000,
      );
      // A little load once it is back, so the test also sees it rejoin.
      await new Promise((resolve) => setTimeout(resolve, 3000));
    })();
    const { accepted, failed } = await checkoutsUntil(eshop, deleted);
    await deleted;
    say(`${accepted.length} checkouts accepted, ${failed} refused while ${victim} was replaced`);
    assert.ok(accepted.length > 0);
    await eachEmailedOnce(accepted);
  });

  it("deleting notification's pod: Recreate brings it back on the same volume, its e-mails kept", async () => {
    const placed = await placeOrder(eshop);
    await poll(
      'the e-mail',
      () => notification.emails({ orderId: placed.orderId }),
      (emails) => emails.length === 1,
      60_000,
    );
    const [before] = await podsOf('notification');
    const claim = before.spec.volumes?.find((volume) => volume.persistentVolumeClaim)?.persistentVolumeClaim?.claimName;
    assert.ok(claim);
    const volume = async () => (await ns('get', 'pvc', claim, '-o', 'jsonpath={.spec.volumeName}')).join('');
    const boundBefore = await volume();

    await ns('delete', 'pod', before.metadata.name, '--wait=true');
    await poll(
      "notification's new pod Ready",
      () => podsOf('notification'),
      (pods) => pods.length === 1 && pods[0].metadata.uid !== before.metadata.uid && ready(pods[0]),
      180_000,
      1000,
    );
    assert.equal(await volume(), boundBefore, 'the claim is bound to the same volume');
    const kept = await poll(
      'the e-mail, read back from the new pod',
      () => notification.emails({ orderId: placed.orderId }),
      () => true,
      60_000,
    );
    assert.equal(kept.length, 1, 'the ledger on the volume survived the pod');
  });
});
