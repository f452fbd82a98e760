// Developer tool: show where the simulator differs from recorded scenarios.
//   node dist/tools/conformance-diff.js [DIR] [FILTER]   (DIR: a folder with scenarios/ and expected/)
import { readFileSync, readdirSync } from 'node:fs';
import { runScenario } from '../src/script/run.js';

const dir = process.argv[2] ?? 'test/conformance';
const filter = process.argv[3];
let pass = 0;
let fail = 0;
for (const f of readdirSync(dir + '/scenarios').sort()) {
  const name = f.replace(/\.txt$/, '');
  const exp = readFileSync(`${dir}/expected/${name}.out`, 'utf8').split('\n').slice(1).join('\n');
  let got: string;
  try {
    got = runScenario(readFileSync(`${dir}/scenarios/${f}`, 'utf8')).split('\n').slice(1).join('\n');
  } catch (e) {
    got = 'THROW ' + (e as Error).stack;
  }
  if (got === exp) {
    pass++;
    continue;
  }
  fail++;
  if (filter && !name.includes(filter)) continue;
  console.log('=== ' + name);
  const el = exp.split('\n');
  const gl = got.split('\n');
  for (let i = 0; i < Math.max(el.length, gl.length); i++) if (el[i] !== gl[i]) console.log(`  exp: ${el[i]}\n  got: ${gl[i]}`);
}
console.log(`${pass} passed, ${fail} failed`);
