/**
 * Rewrites that never leave half a document as the only copy (results.json, gate.json, the reports,
 * the profile's documents, a revision build's stamp). A file is written to a temp file beside it,
 * fsynced, renamed over the target (rename is atomic on one file system: a reader sees the old
 * file or the new one), and the directory is fsynced, so that after a crash or a power cut the
 * name points at a complete file. A killed writer leaves only `.<name>.<pid>.tmp`, which no reader
 * opens; the next write to the same name removes those of dead processes.
 */
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  lstatSync,
  openSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

/** The temp file of `file` while this process writes it: hidden, in the same directory (rename needs one file system). */
export const tempPathOf = (file: string, pid = process.pid): string =>
  join(dirname(file), `.${basename(file)}.${pid}.tmp`);

/**
 * Writes `data` to `file` atomically and durably: temp file, fsync, rename, fsync of the directory.
 * The directory must exist. A target that is a symlink is written through (the file it points at
 * is replaced, the link stays); an existing file keeps its mode. On any error the temp file is
 * removed and the error rethrown; the target is then untouched.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const target = resolveLink(file);
  const tmp = tempPathOf(target);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "w", 0o666);
    const mode = existingMode(target);
    if (mode !== undefined) fchmodSync(fd, mode);
    writeFileSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) closeQuietly(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dirname(target));
  removeStaleTemps(target);
}

/**
 * Points the symlink `link` at `target` atomically (a new link at a temp name renamed over it), so
 * that `link` always resolves to one complete folder: the old one or the new one, never nothing.
 * A real directory or file at `link` (not a link) is removed first.
 */
export function symlinkAtomic(target: string, link: string): void {
  const tmp = tempPathOf(link);
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp, "dir");
  try {
    const was = lstatSync(link, { throwIfNoEntry: false });
    // rename(2) replaces a link or a file, but not a directory
    if (was && !was.isSymbolicLink()) rmSync(link, { recursive: true, force: true });
    renameSync(tmp, link);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dirname(link));
}

/** A symlink's final target (written through, as writeFileSync does); anything else as it is. */
function resolveLink(file: string): string {
  try {
    return lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink() ? realpathSync(file) : file;
  } catch {
    return file; // a dangling link: replace the link itself
  }
}

function existingMode(file: string): number | undefined {
  const s = statSync(file, { throwIfNoEntry: false });
  return s?.isFile() ? s.mode & 0o7777 : undefined;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // the write's own error is the one to report
  }
}

/**
 * fsync of the directory, so that the rename itself survives a crash. Some platforms and file
 * systems cannot open or fsync a directory (Windows, some network and FUSE mounts): the rename
 * has happened, and the file is complete either way.
 */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!["EISDIR", "EINVAL", "ENOTSUP", "EPERM", "EACCES", "EBADF"].includes(code ?? "")) throw err;
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

/** true while a process of that id exists (EPERM: it exists, and belongs to someone else). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The temp files that killed writers of `file` left (`.<name>.<pid>.tmp` of a process that no
 * longer runs). Only this name's; a live writer's are kept. Best effort: it never fails a write.
 */
function removeStaleTemps(file: string): void {
  const prefix = `.${basename(file)}.`;
  try {
    for (const name of readdirSync(dirname(file))) {
      if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
      const pid = name.slice(prefix.length, -".tmp".length);
      if (!/^\d+$/.test(pid) || Number(pid) === process.pid || running(Number(pid))) continue;
      rmSync(join(dirname(file), name), { force: true });
    }
  } catch {
    // a directory we cannot list: the leftovers stay, and no reader opens them
  }
}
