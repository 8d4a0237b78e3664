import {
  COMMAND_CLASSES,
  OPERATIONS,
  WorkspaceClassifier,
  gitWorkspaceFacts,
  type CommandClass,
  type WorkspaceClassification,
  type WorkspaceOperation,
} from '../workspace/index.js';

/**
 * `quittance git-state PATH [--operation OP] [--command-class CLASS] [--no-git] [--json]`: classifies PATH the way Quittance
 * does before running Git there. Prints one line for people, or with --json the facts a GitWorkspaceState document
 * carries. Exit 0 whenever a classification was made (whatever its state), 2 on bad arguments.
 */

export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

export const GIT_STATE_USAGE =
  'usage: quittance git-state PATH [--operation OP] [--command-class CLASS] [--no-git] [--json]\n' +
  `  --operation      ${OPERATIONS.join(' | ')} (default passive_discovery)\n` +
  `  --command-class  ${COMMAND_CLASSES.join(' | ')} (the Git command about to run)\n` +
  '  --no-git         the requested command does not run Git (Git states stay informational)\n' +
  '  --json           print the GitWorkspaceState facts as JSON\n';

interface GitStateArgs {
  path: string;
  operation: WorkspaceOperation;
  commandClass: CommandClass | undefined;
  runsGit: boolean;
  json: boolean;
}

function parseArgs(argv: readonly string[]): GitStateArgs | 'help' | string {
  let path: string | undefined;
  let operation: string | undefined;
  let commandClass: string | undefined;
  let json = false;
  let runsGit = true;
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (onlyPositionals || !arg.startsWith('-') || arg === '-') {
      if (path !== undefined) return `unexpected argument ${JSON.stringify(arg)}: give exactly one PATH`;
      path = arg;
      continue;
    }
    if (arg === '--') {
      onlyPositionals = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const takeValue = (): string | undefined => (eq >= 0 ? arg.slice(eq + 1) : argv[++i]);
    if (name === '-h' || name === '--help') return 'help';
    else if (name === '--json' && eq < 0) json = true;
    else if (name === '--no-git' && eq < 0) runsGit = false;
    else if (name === '--operation') {
      operation = takeValue();
      if (operation === undefined) return '--operation needs a value';
    } else if (name === '--command-class') {
      commandClass = takeValue();
      if (commandClass === undefined) return '--command-class needs a value';
    } else return `unknown option ${JSON.stringify(name)}`;
  }
  if (path === undefined || path === '') return 'missing PATH';
  if (operation !== undefined && !(OPERATIONS as readonly string[]).includes(operation)) {
    return `unknown operation ${JSON.stringify(operation)} (one of ${OPERATIONS.join(', ')})`;
  }
  if (commandClass !== undefined && !(COMMAND_CLASSES as readonly string[]).includes(commandClass)) {
    return `unknown command class ${JSON.stringify(commandClass)} (one of ${COMMAND_CLASSES.join(', ')})`;
  }
  if (path.includes('\0')) return 'PATH contains a NUL character';
  return {
    path,
    operation: (operation ?? 'passive_discovery') as WorkspaceOperation,
    commandClass: commandClass as CommandClass | undefined,
    runsGit,
    json,
  };
}

/** One line: state, severity and actionability, the redacted path, then what Git would find there. */
export function formatGitStateLine(c: WorkspaceClassification): string {
  const g = c.gitFacts;
  const parts: string[] = [];
  if (g.failureReason !== undefined) parts.push(g.failureReason);
  if (g.branch !== null) parts.push(`branch ${g.branch}${g.headSha === null ? ' (no commits yet)' : ` at ${g.headSha.slice(0, 12)}`}`);
  else if (g.headSha !== null) parts.push(`detached at ${g.headSha.slice(0, 12)}`);
  if (g.gitDirDigest !== null) parts.push(`remote ${g.remoteState}`);
  const also = c.observedStates.slice(1);
  if (also.length > 0) parts.push(`also ${also.join(', ')}`);
  const head = `${c.state} (${c.severity}, ${c.actionability}) ${c.pathEvidence.redactedPathHint}`;
  const line = parts.length > 0 ? `${head}: ${parts.join('; ')}` : head;
  return c.remediation === undefined ? line : `${line}. ${c.remediation}`;
}

export async function runGitState(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv);
  if (args === 'help') {
    io.stdout.write(GIT_STATE_USAGE);
    return 0;
  }
  if (typeof args === 'string') {
    io.stderr.write(`quittance git-state: ${args}\n${GIT_STATE_USAGE}`);
    return 2;
  }
  const classification = new WorkspaceClassifier().classify(args.path, {
    operation: args.operation,
    runsGit: args.runsGit,
    ...(args.commandClass === undefined ? {} : { commandClass: args.commandClass }),
  });
  io.stdout.write(args.json ? JSON.stringify(gitWorkspaceFacts(classification), null, 2) + '\n' : formatGitStateLine(classification) + '\n');
  return 0;
}
