// Inclusive time of the functions whose name matches a pattern, in a .cpuprofile.
const fs = require('fs');
const [file, pattern, skipArg] = process.argv.slice(2);
const re = new RegExp(pattern);
const skipMs = Number(skipArg ?? 0);
const p = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map();
let total = 0;
let t = 0;
p.samples.forEach((s, i) => {
  t += p.timeDeltas[i];
  if (t < skipMs * 1000) return;
  total += p.timeDeltas[i];
  const seen = new Set();
  for (let id = s; id !== undefined; id = parent.get(id)) {
    const f = byId.get(id).callFrame;
    const k = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    if (!re.test(k) || seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + p.timeDeltas[i]);
  }
});
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
