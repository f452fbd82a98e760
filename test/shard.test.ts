// Sharded sweeps: N shards merged equal the unsharded run (wall times aside); bad --shard values
// and incomplete merges are clear errors; the Slurm example runs on a one-node cluster where
// slurmctld and slurmd are installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shardJobs } from '../src/cli/shard.js';
import { CLI as cli, cliArgv } from './helpers/cli.js';

const ROOT = join(import.meta.dirname, '..');
const run = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, cliArgv(args), { encoding: 'utf8', env: { ...process.env, ...env } });
const noWall = (rs: Record<string, unknown>[]) => rs.map(({ wallMs: _w, defragWallMs: _d, ...r }) => r);

describe('shards', () => {
  it('cover every run once, every N-th', () => {
    expect(shardJobs(7, { index: 1, count: 3 })).toEqual([1, 4]);
    const all = [0, 1, 2].flatMap((i) => shardJobs(7, { index: i, count: 3 })).sort();
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it.skipIf(!existsSync(cli))('merged equal the unsharded run; bad shards and incomplete merges are errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shards-'));
    const sweep = ['bench', '--workload', 'churn', '--workload', 'larson', '--allocator', 'glibc', '--allocator', 'uffd', '--allocator', 'mmap', '--events', '3000'];
    // a failure says why (exit status, signal, spawn error, stderr)
    const ok = (r: ReturnType<typeof run>) => expect(r.status, `signal ${r.signal}, ${r.error ?? ''} ${r.stderr}`).toBe(0);
    ok(run([...sweep, '--shard', '0/2', '--out', dir]));
    ok(run([...sweep, '--shard', 'auto/2', '--out', dir], { JOB_COMPLETION_INDEX: '1' }));
    const merged = JSON.parse(run(['merge', dir, '--json']).stdout);
    const whole = JSON.parse(run([...sweep, '--json']).stdout);
    expect(noWall(merged)).toEqual(noWall(whole));
    expect(run(['merge', dir]).stdout).toContain('churn     glibc');
    rmSync(join(dir, 'shard-1-of-2.jsonl'));
    expect(run(['merge', dir]).stderr).toContain('3 of 6 runs are missing (first: run 1)');
    for (const [v, msg] of [['2/2', 'the index must be below'], ['x/2', '--shard takes I/N or auto/N'], ['auto/2', 'needs SLURM_ARRAY_TASK_ID']] as const) {
      const r = run(['bench', '--shard', v], { SLURM_ARRAY_TASK_ID: '', JOB_COMPLETION_INDEX: '' });
      expect([r.status, r.stderr], v).toEqual([2, expect.stringContaining(msg)]);
    }
    writeFileSync(join(dir, 'bad.jsonl'), 'not json\n');
    expect(run(['merge', dir]).stderr).toContain('bad.jsonl:1: not a shard line');
    // JSON that is not a shard line: null, a number, a run outside its sweep
    for (const bad of ['null', '5', '{"run":7,"runs":6,"result":{}}', '{"run":-1,"runs":6,"result":{}}', '{"run":0,"runs":6,"result":null}']) {
      writeFileSync(join(dir, 'bad.jsonl'), bad + '\n');
      expect(run(['merge', dir]).stderr, bad).toContain('bad.jsonl:1: not a shard line');
    }
  });
});

const slurm = ['slurmctld', 'slurmd', 'sbatch', 'munged'].every((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0);
if (!slurm) console.warn('shard.test: slurmctld, slurmd, sbatch or munged is not installed (apt-get install slurm-wlm munge): the Slurm example is not run');

describe.skipIf(!slurm || process.getuid?.() !== 0 || !existsSync(cli))('examples/slurm-sweep.sh on a one-node Slurm cluster', () => {
  it('runs the array and the merge, giving the unsharded results', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slurm-'));
    const host = execFileSync('hostname', { encoding: 'utf8' }).trim();
    const conf = join(dir, 'slurm.conf');
    writeFileSync(
      conf,
      [`ClusterName=test`, `SlurmctldHost=${host}`, `SlurmUser=root`, `SlurmdUser=root`, `StateSaveLocation=${dir}/state`, `SlurmdSpoolDir=${dir}/spool`,
        `SlurmctldPidFile=${dir}/ctld.pid`, `SlurmdPidFile=${dir}/d.pid`, 'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none', 'SchedulerType=sched/builtin',
        'SelectType=select/cons_tres', 'AuthType=auth/munge', 'ReturnToService=2', `NodeName=${host} CPUs=2 State=UNKNOWN`, `PartitionName=main Nodes=${host} Default=YES State=UP`].join('\n') + '\n',
    );
    const env = { ...process.env, SLURM_CONF: conf };
    // munge (Slurm's authentication) wants its directories; as root it runs with --force
    const setup = `mkdir -p ${dir}/state ${dir}/spool /run/munge /var/log/munge /var/lib/munge; chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null; (pgrep -x munged || munged --force) >/dev/null 2>&1; slurmctld -f ${conf}; slurmd -f ${conf}; sleep 3`;
    execFileSync('sh', ['-c', setup], { env });
    try {
      const out = join(dir, 'out');
      const traces = join(dir, 't.trace');
      writeFileSync(traces, 'a 0 100\na 1 5000\nf 0\na 2 300000\nf 1\n');
      execFileSync('bash', [join(ROOT, 'examples/slurm-sweep.sh')], { cwd: ROOT, env: { ...env, SHARDS: '2', OUT: out, TRACES: traces } });
      // the merge job writes results.json last; wait until it holds a whole JSON array
      const results = join(out, 'results.json');
      const done = () => existsSync(results) && readFileSync(results, 'utf8').trimEnd().endsWith(']');
      for (let i = 0; i < 150 && !done(); i++) execFileSync('sleep', ['1']);
      const merged = JSON.parse(readFileSync(results, 'utf8'));
      const whole = JSON.parse(run(['bench', '--trace', traces, '--json']).stdout);
      expect(noWall(merged)).toEqual(noWall(whole));
    } finally {
      spawnSync('sh', ['-c', `scontrol -f ${conf} shutdown 2>/dev/null; pkill slurmd; pkill slurmctld`], { env });
    }
  }, 180_000);
});
