// Prints the functions with the most self time in a .cpuprofile (node --cpu-prof).
const fs = require('fs');
const file = process.argv[2];
const top = Number(process.argv[3] ?? 25);
// Optional: only samples after this many ms from the start (skip start-up).
const skipMs = Number(process.argv[4] ?? 0);
const p = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
let t = 0;
p.samples.forEach((s, i) => {
  t += p.timeDeltas[i];
  if (t < skipMs * 1000) return;
  const n = byId.get(s);
  const f = n.callFrame;
  const k = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
  self.set(k, (self.get(k) ?? 0) + p.timeDeltas[i]);
  total += p.timeDeltas[i];
});
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
