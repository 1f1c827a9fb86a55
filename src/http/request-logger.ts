/**
 * A request's logger, made only when something logs through it. Fastify gives every request a
 * child logger bound to its request id; building one (pino serialises the bindings) costs a few
 * µs, and most requests never log except for the request line, which server.ts writes through
 * the root logger with the id itself. The first call through this object makes the real child,
 * so an error or warning is logged exactly as it would be by an eager one.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, LogFn } from 'pino';

export class LazyRequestLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private get real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  get level(): LevelWithSilentOrString {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: LevelWithSilentOrString) {
    this.real.level = level;
  }

  // The log methods are shared by all instances (set on the prototype below): a closure per
  // method per request would cost what the lazy child saves.
  declare fatal: LogFn;
  declare error: LogFn;
  declare warn: LogFn;
  declare info: LogFn;
  declare debug: LogFn;
  declare trace: LogFn;
  declare silent: LogFn;

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }
}

for (const method of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const) {
  Object.defineProperty(LazyRequestLogger.prototype, method, {
    value(this: { real: FastifyBaseLogger }, ...args: unknown[]) {
      (this.real[method] as (...a: unknown[]) => void)(...args);
    },
  });
}
