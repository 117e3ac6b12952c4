// Errors the command line reports without a stack trace, and how file-system errors are worded.

/** The command itself is wrong (bad flag, missing input, ...): exit status 2, message plus usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A problem the user can act on that is not a usage mistake (a file cannot be written): exit 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** A bug or an unexpected failure inside hessgen: reported as one "internal error" line, exit 1. */
export class InternalError extends Error {
  override readonly name = 'InternalError';
}

const FS_ERROR_WORDS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'it already exists',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EBUSY: 'the file is busy',
  EIO: 'input/output error',
};

/** The error code of a Node file-system error, or undefined. */
export function fsErrorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** A short human wording of a file-system error ("permission denied"), without paths or stacks. */
export function describeFsError(err: unknown): string {
  const code = fsErrorCode(err);
  if (code !== undefined) return FS_ERROR_WORDS[code] ?? code;
  return firstLine(err instanceof Error ? err.message : String(err));
}

/** The first line of a message: the command line prints one line per problem. */
export function firstLine(text: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  return line.trim() === '' ? '(no message)' : line;
}
