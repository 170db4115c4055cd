import os from "node:os";

/** One line naming the runtime and the machine, printed by every benchmark. */
export function environment(): string {
  const cpus = os.cpus();
  return `Node ${process.version} on ${cpus[0]?.model ?? "unknown CPU"} (${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB), ${os.platform()} ${os.arch()}`;
}
