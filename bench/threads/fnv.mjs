// About a millisecond of pure-JS CPU per item on this kind of machine: FNV-1a over 900 KB. The
// work every contender of the threads bench's `fnv` workload runs, in the event loop or a thread.
const data = new Uint8Array(900 * 1024);
for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 255;

export function fnv(n) {
  let h = 0x811c9dc5 ^ n;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i], 16777619);
  return h >>> 0;
}

export default fnv;
