#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ExitCode } from './errors.js';
import { demoCommand } from './commands/demo-command.js';
import { deprovisionCommand } from './commands/deprovision-command.js';
import { gcCommand } from './commands/gc-command.js';
import { imageCommand } from './commands/image-command.js';
import { provisionCommand } from './commands/provision-command.js';
import { smokeCommand } from './commands/smoke-command.js';
import { statusCommand } from './commands/status-command.js';

// `nix-runner --help | head` closes the pipe early: that is no error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const program = new Command('nix-runner')
  .description('One shared, persistent Nix store for every GitLab Runner docker job, served by a long-lived nix-daemon container.')
  .version('0.1.0')
  .exitOverride()
  .addCommand(provisionCommand())
  .addCommand(deprovisionCommand())
  .addCommand(smokeCommand())
  .addCommand(imageCommand())
  .addCommand(gcCommand())
  .addCommand(statusCommand())
  .addCommand(demoCommand());

for (const command of program.commands) command.exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (error: unknown) {
  if (!(error instanceof CommanderError)) throw error;
  // --help and --version end here too, with exit code 0.
  process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
}
