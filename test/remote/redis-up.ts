import { execFileSync } from "node:child_process";
import { Redis } from "ioredis";

/** Redis at 127.0.0.1:`port`, waited for; on 6379 started if it is not answering (as `.ci/run` does). */
export async function redisUp(port = 6379): Promise<Redis> {
  const ping = async () => {
    const r = new Redis({
      host: "127.0.0.1",
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    r.on("error", () => {});
    try {
      await r.connect();
      await r.ping();
      return r;
    } catch {
      r.disconnect();
      return null;
    }
  };
  let r = await ping();
  if (r === null && port === 6379) {
    execFileSync("redis-server", [
      "--daemonize",
      "yes",
      "--bind",
      "127.0.0.1",
      "--port",
      "6379",
      "--save",
      "",
      "--appendonly",
      "no",
    ]);
  }
  if (r === null) {
    for (let i = 0; i < 50 && r === null; i++) {
      await new Promise((ok) => setTimeout(ok, 100));
      r = await ping();
    }
  }
  if (r === null)
    throw new Error("Redis did not answer at 127.0.0.1:6379, and redis-server could not start it");
  return r;
}

/** A key prefix no other test run uses. */
export const freshPrefix = (what: string): string => `frt${what}${process.pid}x${Date.now().toString(36)}`;
