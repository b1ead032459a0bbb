/**
 * A typed request/reply protocol over a MessagePort-like object (a worker_threads Worker, its parentPort, or either
 * end of a MessageChannel). One map of call names to `{ request, reply }` types drives both ends, so a call, its
 * handler and its reply cannot drift apart without the compiler noticing. Besides calls: one-way signals
 * (client → server, e.g. audio frames), events (server → client), progress, and cancellation.
 */

/** Call name → request and reply types. */
export type CallMap<C> = { [K in keyof C]: { request: unknown; reply: unknown } };

/** Signal or event name → payload type. */
export type MessageMap<M> = { [K in keyof M]: unknown };

/** What the ends need of a port: Node's Worker, MessagePort and parentPort all have these. */
export interface RpcPort {
  postMessage(message: unknown): void;
  // `any` as Node declares it: a narrower parameter type does not match Node's overloaded `on`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: 'message', listener: (message: any) => void): unknown;
}

/** How a failure crosses: a stable code and a message (the error class stays behind). */
export interface RpcFailure {
  code: string;
  message: string;
}

/** What a handler gets besides its request. */
export interface CallContext {
  /** Aborted when the caller cancels the call. */
  readonly signal: AbortSignal;
  /**
   * Reports progress (0–1) to the caller, at most one message per percent. Also the run's cancellation point:
   * throws the cancellation error once the caller has cancelled, so the run stops there.
   */
  progress: (fraction: number) => void;
}

export type CallHandlers<C extends CallMap<C>> = {
  [K in keyof C]: (request: C[K]['request'], context: CallContext) => Promise<C[K]['reply']>;
};

export type MessageHandlers<M extends MessageMap<M>> = { [K in keyof M]: (payload: M[K]) => void };

/** Sends events of map `E` from the serving end. */
export type EmitEvent<E extends MessageMap<E>> = <K extends keyof E & string>(name: K, payload: E[K]) => void;

type ClientMessage =
  { kind: 'call'; id: number; name: string; request: unknown } | { kind: 'cancel'; id: number } | { kind: 'signal'; name: string; payload: unknown };

type ServerMessage =
  | { kind: 'progress'; id: number; fraction: number }
  | { kind: 'reply'; id: number; value: unknown }
  | { kind: 'failure'; id: number; failure: RpcFailure }
  | { kind: 'event'; name: string; payload: unknown };

export interface CallOptions {
  onProgress?: (fraction: number) => void;
  /** Aborting sends a cancel; the call then ends as the server's handler does (with its cancellation error). */
  signal?: AbortSignal;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  onProgress?: (fraction: number) => void;
}

/** The calling end. Replies are typed by the call map; failures come back as the errors `toError` makes. */
export class RpcClient<C extends CallMap<C>, S extends MessageMap<S> = Record<never, never>, E extends MessageMap<E> = Record<never, never>> {
  private readonly pendingCalls = new Map<number, Pending>();
  private nextId = 1;

  constructor(
    private readonly port: RpcPort,
    private readonly options: {
      toError: (failure: RpcFailure) => Error;
      events?: MessageHandlers<E>;
    },
  ) {
    port.on('message', (message: ServerMessage) => this.receive(message));
  }

  call<K extends keyof C & string>(name: K, request: C[K]['request'], options: CallOptions = {}): Promise<C[K]['reply']> {
    const { signal, onProgress } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.nextId++;
    return new Promise<C[K]['reply']>((resolve, reject) => {
      const onAbort = () => this.post({ kind: 'cancel', id });
      signal?.addEventListener('abort', onAbort, { once: true });
      const settled =
        <T>(fn: (value: T) => void) =>
        (value: T) => {
          signal?.removeEventListener('abort', onAbort);
          fn(value);
        };
      // The reply's type is the call map's: the serving end's handler for `name` returned it.
      this.pendingCalls.set(id, { resolve: settled(resolve), reject: settled(reject), onProgress });
      this.post({ kind: 'call', id, name, request });
    });
  }

  /** A one-way message: no reply, delivered in order with calls and other signals. */
  signal<K extends keyof S & string>(name: K, payload: S[K]): void {
    this.post({ kind: 'signal', name, payload });
  }

  /** Calls sent and not answered yet. */
  get pending(): number {
    return this.pendingCalls.size;
  }

  /** Asks the serving end to stop every call in progress. */
  cancelAll(): void {
    for (const id of this.pendingCalls.keys()) this.post({ kind: 'cancel', id });
  }

  /** Fails every unanswered call with `err` (the serving end is gone); later replies to them are dropped. */
  failAll(err: Error): void {
    const calls = [...this.pendingCalls.values()];
    this.pendingCalls.clear();
    for (const call of calls) call.reject(err);
  }

  private post(message: ClientMessage): void {
    this.port.postMessage(message);
  }

  private receive(message: ServerMessage): void {
    if (message.kind === 'event') {
      const handler = this.options.events?.[message.name as keyof E];
      handler?.(message.payload as E[keyof E]);
      return;
    }
    const call = this.pendingCalls.get(message.id);
    if (!call) return;
    if (message.kind === 'progress') {
      call.onProgress?.(message.fraction);
      return;
    }
    this.pendingCalls.delete(message.id);
    if (message.kind === 'reply') call.resolve(message.value);
    else call.reject(this.options.toError(message.failure));
  }
}

/** Sends events to the calling end of `port`. */
export function rpcEmitter<E extends MessageMap<E>>(port: RpcPort): EmitEvent<E> {
  return (name, payload) => port.postMessage({ kind: 'event', name, payload } satisfies ServerMessage);
}

export interface ServeOptions {
  /** How a thrown error crosses back to the caller. */
  toFailure: (err: unknown) => RpcFailure;
  /** Thrown by `context.progress` once the call is cancelled. */
  cancelled: () => Error;
}

/**
 * The serving end: runs each call's handler and sends back its reply, its failure, and its progress. Signals go to
 * their handlers in the order they arrive.
 */
export function serveRpc<C extends CallMap<C>, S extends MessageMap<S> = Record<never, never>>(
  port: RpcPort,
  handlers: CallHandlers<C> & MessageHandlers<S>,
  options: ServeOptions,
): void {
  const running = new Map<number, AbortController>();
  const reply = (message: ServerMessage) => port.postMessage(message);

  const run = async (id: number, name: string, request: unknown): Promise<void> => {
    const controller = new AbortController();
    running.set(id, controller);
    let lastPercent = -1;
    const context: CallContext = {
      signal: controller.signal,
      progress: (fraction) => {
        if (controller.signal.aborted) throw options.cancelled();
        // Progress messages are cheap but not free: one per percent at most.
        const percent = Math.floor(fraction * 100);
        if (percent === lastPercent) return;
        lastPercent = percent;
        reply({ kind: 'progress', id, fraction });
      },
    };
    try {
      const handler = handlers[name as keyof C] as ((request: unknown, context: CallContext) => Promise<unknown>) | undefined;
      if (typeof handler !== 'function') throw new Error(`no handler for call "${name}"`);
      reply({ kind: 'reply', id, value: await handler(request, context) });
    } catch (err) {
      reply({ kind: 'failure', id, failure: options.toFailure(err) });
    } finally {
      running.delete(id);
    }
  };

  port.on('message', (message: ClientMessage) => {
    if (message.kind === 'call') void run(message.id, message.name, message.request);
    else if (message.kind === 'cancel') running.get(message.id)?.abort(options.cancelled());
    else {
      const handler = handlers[message.name as keyof S] as ((payload: unknown) => void) | undefined;
      handler?.(message.payload);
    }
  });
}
