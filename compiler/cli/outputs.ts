// Writing generated files: atomically (temp file + rename), and only when the content changes.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CliError, UsageError, describeFsError, fsErrorCode } from './errors.ts';

export type FileState = 'missing' | 'different' | 'same';

/** Whether the file at `abs` already holds exactly `content`. */
export async function compareFile(abs: string, content: Uint8Array, shown: string): Promise<FileState> {
  let existing: Buffer;
  try {
    existing = await readFile(abs);
  } catch (err) {
    const code = fsErrorCode(err);
    if (code === 'ENOENT') return 'missing';
    throw new CliError(`cannot read ${shown}: ${describeFsError(err)}`);
  }
  return existing.equals(content) ? 'same' : 'different';
}

/**
 * Replaces `abs` with `content` so that a reader sees the old file or the new one, never a
 * partial one: the bytes go to a temp file in the same folder, are flushed, then renamed over.
 */
export async function writeFileAtomic(abs: string, content: Uint8Array): Promise<void> {
  const temp = join(dirname(abs), `.${basename(abs)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx');
  let renamed = false;
  try {
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, abs);
    renamed = true;
  } finally {
    if (!renamed) await rm(temp, { force: true }).catch(() => undefined);
  }
}

/** `--out` may be missing (it is created when writing) but must not be a file. */
export async function checkOutFolder(abs: string, shown: string): Promise<void> {
  try {
    const info = await stat(abs);
    if (!info.isDirectory()) throw new UsageError(`--out ${shown} is not a folder`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = fsErrorCode(err);
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new UsageError(`--out ${shown} is inside something that is not a folder`);
    throw new UsageError(`cannot access --out ${shown}: ${describeFsError(err)}`);
  }
}

export async function ensureOutFolder(abs: string, shown: string): Promise<void> {
  try {
    await mkdir(abs, { recursive: true });
  } catch (err) {
    throw new CliError(`cannot create the --out folder ${shown}: ${describeFsError(err)}`);
  }
}
