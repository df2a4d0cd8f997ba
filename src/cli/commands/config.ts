/** `moxxy config path`: which configuration file the commands read when started from this directory. */
import type { Command } from 'commander';
import { CONFIG_FILE_NAMES, defaultHome, findConfigFile } from '../../config/load.ts';
import { fail } from '../fail.ts';

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('The configuration file (moxxy.config.* in the working directory, else in MOXXY_HOME)');

  config
    .command('path')
    .description('Print the path of the configuration file the commands read from here; exit 1 when there is none')
    .action(() => {
      const file = findConfigFile(process.cwd(), process.env);
      if (!file) fail(`no configuration file: none of ${CONFIG_FILE_NAMES.join(', ')} in ${process.cwd()} or ${defaultHome(process.env)}`);
      process.stdout.write(`${file}\n`);
    });
}
