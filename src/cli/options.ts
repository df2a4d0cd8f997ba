/** Option parsers shared by the `moxxy` sub-commands. */
import { InvalidArgumentError } from 'commander';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be a port number (0-65535; 0 picks a free one)');
  return port;
}
