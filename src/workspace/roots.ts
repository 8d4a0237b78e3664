/**
 * The folders under which the server classifies paths for a remote caller (POST /v1/workspace/git-state).
 * Classifying a path answers whether it exists and what is there, so without limits any API key with `write` scope
 * could probe the server's filesystem. The local CLI (`quittance git-state PATH`) does not use this: whoever runs
 * it can look at their own files anyway.
 */
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { QuittanceError } from '../errors.js';

/** The one refusal for a path the server will not classify, whatever the reason (see WorkspaceRoots.admit). */
function refused(): QuittanceError {
  return new QuittanceError('QUITTANCE_ERR_WORKSPACE_PATH_NOT_ALLOWED', ['it is not an existing path under a workspace root of this server']);
}

function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

export class WorkspaceRoots {
  /** Canonical (realpath) forms, resolved once when the server starts. */
  readonly roots: readonly string[];

  /** `configured`: absolute folders (config workspace.allowedRoots). One that is not an existing folder is a config error. */
  constructor(configured: readonly string[]) {
    this.roots = configured.map((root) => {
      try {
        const canonical = realpathSync.native(root);
        if (statSync(canonical).isDirectory()) return canonical;
      } catch {
        // reported below
      }
      throw new QuittanceError('QUITTANCE_ERR_CONFIG', [`workspace root ${JSON.stringify(root)} is not an existing folder`]);
    });
  }

  /** Without roots the route is off: the refusal says how to turn it on. */
  assertEnabled(): void {
    if (this.roots.length === 0) {
      throw new QuittanceError('QUITTANCE_ERR_WORKSPACE_PATH_NOT_ALLOWED', ['this server has no workspace roots, so the route is off']);
    }
  }

  /**
   * The canonical form of `path` when it exists at or under a root, after resolving `..` and every symlink;
   * otherwise QUITTANCE_ERR_WORKSPACE_PATH_NOT_ALLOWED. A path outside the roots, a `..` or symlink escape, a
   * missing path and an unreadable one get the same refusal (same code, same message), so the answer does not tell
   * whether anything exists outside the roots. A missing path is refused even under a root: its real location
   * cannot be known (a symlinked folder above it may lead outside), so classifying it as missing would leak.
   */
  admit(path: string): string {
    this.assertEnabled();
    let canonical: string;
    try {
      canonical = realpathSync.native(resolve(path));
    } catch {
      throw refused();
    }
    if (!this.roots.some((root) => isWithin(root, canonical))) throw refused();
    return canonical;
  }
}
