/**
 * Per-request loggers created on first use. Fastify gives every request a child of the server's logger
 * bound to its request id; pino builds that child eagerly (serializing the bindings), ~1.5 µs a request —
 * and only failing requests ever log (request logging is off). This child defers the real one until a
 * method is called, so a request that logs nothing pays for one small object.
 */
import type { FastifyBaseLogger } from 'fastify';

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildLoggerOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>;

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

class LazyChildLogger {
  #real: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get real(): FastifyBaseLogger {
    return (this.#real ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return this.real.level;
  }
  set level(level: string) {
    this.real.level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }
}

// The log methods, on the prototype so a request allocates nothing for them.
for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] satisfies Level[]) {
  Object.defineProperty(LazyChildLogger.prototype, level, {
    value(this: LazyChildLogger, ...args: unknown[]) {
      const real = this.real;
      return (real[level] as (...args: unknown[]) => void).apply(real, args);
    },
  });
}

/** Fastify's `childLoggerFactory`: the request's logger, built when first used. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
}
