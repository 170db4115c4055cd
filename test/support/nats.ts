// A local NATS server with JetStream for the broker tests (test/integration/, examples/broker.ts):
// `ensureNats()` starts it when nothing answers, `testStream()` makes a stream and a durable pull
// consumer with a unique name, and deletes them when disposed.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect as tcpConnect } from "node:net";
import {
  AckPolicy,
  type Consumer,
  type ConsumerInfo,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";

export const NATS_HOST = process.env.NATS_HOST ?? "127.0.0.1";
export const NATS_PORT = Number(process.env.NATS_PORT ?? 4222);
export const NATS_URL = process.env.NATS_URL ?? `${NATS_HOST}:${NATS_PORT}`;

/** The same command as `.ci/run`: a no-op when a nats-server is already running. */
const START = [
  "--start",
  "--oknodo",
  "--background",
  "--exec",
  "/usr/sbin/nats-server",
  "--",
  ...["-a", NATS_HOST, "-p", String(NATS_PORT), "-js", "-sd", "/var/lib/nats-server"],
  ...["-l", "/var/log/nats-server.log"],
];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What answers on the NATS port: the `INFO` line a server sends on connect says whether JetStream is on. */
export function probeNats(timeoutMs = 1_000): Promise<"jetstream" | "no-jetstream" | "down"> {
  return new Promise((resolve) => {
    let line = "";
    const socket = tcpConnect({ host: NATS_HOST, port: NATS_PORT });
    const done = (state: "jetstream" | "no-jetstream" | "down") => {
      clearTimeout(timer);
      socket.destroy();
      resolve(state);
    };
    const timer = setTimeout(() => done("down"), timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      line += chunk;
      if (!line.includes("\n")) return;
      if (!line.startsWith("INFO")) done("down");
      else done(/"jetstream":\s*true/.test(line) ? "jetstream" : "no-jetstream");
    });
    socket.on("error", () => done("down"));
  });
}

/** Makes sure a NATS server with JetStream answers, starting one if none does; waits up to `timeoutMs`. */
export async function ensureNats(timeoutMs = 10_000): Promise<void> {
  let state = await probeNats();
  if (state === "jetstream") return;
  if (state === "no-jetstream")
    throw new Error(`a NATS server answers on ${NATS_URL} without JetStream; restart it with -js`);
  await new Promise<void>((resolve, reject) =>
    execFile("start-stop-daemon", START, (error, _out, stderr) =>
      error ? reject(new Error(`start-stop-daemon failed: ${stderr || error.message}`)) : resolve(),
    ),
  );
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    state = await probeNats();
    if (state === "jetstream") return;
    await sleep(200);
  }
  throw new Error(`nats-server did not answer on ${NATS_URL} within ${timeoutMs} ms (${state}); see the log`);
}

export interface TestStreamOptions {
  /** Prefix of the stream's name. @defaultValue "FR_TEST" */
  prefix?: string;
  /** How long the server waits for an ack before it redelivers. @defaultValue 2000 */
  ackWaitMs?: number;
}

/** A stream with one subject and one durable pull consumer (explicit acks, unlimited deliveries). */
export interface TestStream extends AsyncDisposable {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly subject: string;
  readonly durable: string;
  /** Publishes each value as JSON, each confirmed by the server. */
  publish(values: readonly unknown[]): Promise<void>;
  consumer(): Promise<Consumer>;
  /** The durable consumer's state (`num_pending`, `num_ack_pending`, `num_redelivered`, ...). */
  info(): Promise<ConsumerInfo>;
  /** Deletes the stream (and its consumer) and closes the connection; what disposing does. */
  close(): Promise<void>;
}

/** Ensures NATS is up, then creates a uniquely named stream and durable consumer. */
export async function testStream(options: TestStreamOptions = {}): Promise<TestStream> {
  await ensureNats();
  const id = `${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const stream = `${options.prefix ?? "FR_TEST"}_${id}`;
  const subject = `flowrhythm.test.${id}`;
  const durable = "worker";
  const nc = await connect({ servers: NATS_URL, name: `flowrhythm-test-${id}` });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await jsm.streams.delete(stream);
    } finally {
      await nc.drain();
    }
  };
  try {
    await jsm.streams.add({ name: stream, subjects: [subject] });
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: (options.ackWaitMs ?? 2_000) * 1_000_000, // nanoseconds
      max_deliver: -1,
      deliver_policy: DeliverPolicy.All,
    });
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  return {
    nc,
    js,
    jsm,
    stream,
    subject,
    durable,
    async publish(values) {
      for (const v of values) await js.publish(subject, JSON.stringify(v));
    },
    consumer: () => js.consumers.get(stream, durable),
    info: () => jsm.consumers.info(stream, durable),
    close,
    [Symbol.asyncDispose]: close,
  };
}
