// `hessgen build --watch`, driven in-process through the exported watch() handle.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { watch } from '../../compiler/cli.ts';
import type { BuildEvent, WatchHandle } from '../../compiler/cli.ts';
import { UsageError } from '../../compiler/cli/errors.ts';
import { BROKEN, LINEAR, QUADRATIC, cleanTempDirs, listFiles, tempProject, waitFor } from './helpers.ts';

const SLOW = 30_000;

interface Session {
  handle: WatchHandle;
  events: BuildEvent[];
  out: string[];
  err: string[];
}

const open: WatchHandle[] = [];

async function start(dir: string, inputs: string[], debounceMs = 50): Promise<Session> {
  const events: BuildEvent[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const handle = await watch({
    inputs,
    out: 'gen',
    cwd: dir,
    debounceMs,
    log: (l) => out.push(l),
    logError: (l) => err.push(l),
    // The build time varies: kept out of the events compared below, checked to be a duration.
    onBuild: ({ ms, ...e }) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      events.push(e as BuildEvent);
    },
  });
  open.push(handle);
  return { handle, events, out, err };
}

/** Waits until `session` has seen `count` builds in all. */
function builds(session: Session, count: number): Promise<void> {
  return waitFor(() => session.events.length >= count, 10_000, `${count} builds (saw ${session.events.length})`);
}

afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});
afterAll(cleanTempDirs);

describe('watch()', () => {
  it('builds every model first, then rebuilds the one whose file changed', { timeout: SLOW }, async () => {
    const dir = tempProject({ 'models/a.hess': LINEAR, 'models/b.hess': QUADRATIC });
    const s = await start(dir, ['models']);
    expect(s.handle.models()).toEqual(['models/a.hess', 'models/b.hess']);
    expect(s.events.map((e) => [e.model, e.ok])).toEqual([
      ['models/a.hess', true],
      ['models/b.hess', true],
    ]);
    expect(listFiles(join(dir, 'gen'))).toEqual(['a.ts', 'b.ts']);
    expect(s.out.at(-1)).toMatch(/watching 2 models/);

    const bBefore = readFileSync(join(dir, 'gen/b.ts'), 'utf8');
    writeFileSync(join(dir, 'models/a.hess'), QUADRATIC);
    await builds(s, 3);
    expect(s.events[2]).toEqual({ model: 'models/a.hess', ok: true, written: ['gen/a.ts'] });
    expect(readFileSync(join(dir, 'gen/a.ts'), 'utf8')).toContain('models/a.hess');
    expect(readFileSync(join(dir, 'gen/b.ts'), 'utf8')).toBe(bBefore);
  });

  it('prints errors and leaves the previous outputs untouched, then recovers', { timeout: SLOW }, async () => {
    const dir = tempProject({ 'm.hess': LINEAR });
    const s = await start(dir, ['m.hess']);
    const good = readFileSync(join(dir, 'gen/m.ts'), 'utf8');

    writeFileSync(join(dir, 'm.hess'), BROKEN);
    await builds(s, 2);
    expect(s.events[1]).toEqual({ model: 'm.hess', ok: false, written: [] });
    expect(s.err.join('\n')).toMatch(/m\.hess:6:\d+: error:/);
    expect(readFileSync(join(dir, 'gen/m.ts'), 'utf8')).toBe(good);

    writeFileSync(join(dir, 'm.hess'), QUADRATIC);
    await builds(s, 3);
    expect(s.events[2]?.ok).toBe(true);
    expect(readFileSync(join(dir, 'gen/m.ts'), 'utf8')).not.toBe(good);
  });

  it('sees saves that replace the file (write a temp file, rename it over)', { timeout: SLOW }, async () => {
    const dir = tempProject({ 'm.hess': LINEAR });
    const s = await start(dir, ['m.hess']);
    const first = readFileSync(join(dir, 'gen/m.ts'), 'utf8');
    writeFileSync(join(dir, '.m.hess.swp'), QUADRATIC);
    renameSync(join(dir, '.m.hess.swp'), join(dir, 'm.hess'));
    await builds(s, 2);
    expect(readFileSync(join(dir, 'gen/m.ts'), 'utf8')).not.toBe(first);
    expect(listFiles(join(dir, 'gen'))).toEqual(['m.ts']);
  });

  it('debounces a burst of writes into one rebuild', { timeout: SLOW }, async () => {
    const dir = tempProject({ 'm.hess': LINEAR });
    const s = await start(dir, ['m.hess'], 300);
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, 'm.hess'), `${QUADRATIC}# save ${i}\n`);
    await builds(s, 2);
    await new Promise((r) => setTimeout(r, 800));
    expect(s.events).toHaveLength(2);
  });

  it('picks up new models in a watched folder and notices removed ones', { timeout: SLOW }, async () => {
    const dir = tempProject({ 'models/a.hess': LINEAR });
    const s = await start(dir, ['models']);
    writeFileSync(join(dir, 'models/notes.txt'), 'not a model');
    writeFileSync(join(dir, 'models/c.hess'), QUADRATIC);
    await builds(s, 2);
    expect(s.events[1]).toEqual({ model: 'models/c.hess', ok: true, written: ['gen/c.ts'] });
    expect(s.handle.models()).toEqual(['models/a.hess', 'models/c.hess']);

    rmSync(join(dir, 'models/c.hess'));
    await waitFor(() => s.out.some((l) => l.includes('models/c.hess was removed')), 10_000, 'the removal');
    expect(s.handle.models()).toEqual(['models/a.hess']);
    expect(existsSync(join(dir, 'gen/c.ts'))).toBe(true); // outputs of removed models are kept
  });

  it('rejects bad inputs before watching anything', async () => {
    const dir = tempProject({ 'm.hess': LINEAR });
    await expect(start(dir, ['missing.hess'])).rejects.toBeInstanceOf(UsageError);
    await expect(start(dir, ['m.hess', 'm.txt'])).rejects.toThrow(/no such file or folder: m\.txt/);
    expect(existsSync(join(dir, 'gen'))).toBe(false);
  });

  it('keeps building the other models while one is broken', { timeout: SLOW }, async () => {
    const dir = tempProject({ 'a.hess': BROKEN, 'b.hess': LINEAR });
    const s = await start(dir, ['a.hess', 'b.hess']);
    expect(s.events.map((e) => e.ok)).toEqual([false, true]);
    expect(listFiles(join(dir, 'gen'))).toEqual(['b.ts']);
    writeFileSync(join(dir, 'a.hess'), LINEAR);
    await builds(s, 3);
    expect(listFiles(join(dir, 'gen'))).toEqual(['a.ts', 'b.ts']);
  });
});
