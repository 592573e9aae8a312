// The C ENet baseline: builds bench/c/*.c against the same npm package `enet.c` that the addon compiles (its
// single header, with ENET_IMPLEMENTATION defined in each program; no ENet source is copied into the repo) with
// `gcc -O2` into bench/.build/ (git-ignored) when missing or older than its sources, and runs the same trials as
// the netpeer benches: one-way 64-byte messages (bench/c/enet-throughput.c) and ping-pong (bench/c/enet-pingpong.c).
// It also builds bench/c/udp-syscalls.c (no ENet), which bench/udp-syscalls.bench.ts runs.
//
//   node -r ts-node/register/transpile-only bench/c-enet.ts [--trials 5]     runs the C trials alone
//
// Each C side is its own process, as each netpeer side is: the receiver/server prints "PORT n" first, the measuring
// side prints "RESULT {json}" at the end.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT, argInt, formatFixed, formatInt, summarize, waitForQuiet } from './bench-common';
import type { PingPongOptions, PingPongResult } from './enet-pingpong.bench';
import type { ThroughputOptions, ThroughputResult } from './enet-throughput.bench';

const SOURCE_DIR = join(__dirname, 'c');
const BUILD_DIR = join(__dirname, '.build');
const PROGRAMS = ['enet-throughput', 'enet-pingpong', 'udp-syscalls'] as const;
type Program = (typeof PROGRAMS)[number];

/** Directory of enet.h from the installed `enet.c` package (the one the addon is built from). */
function enetIncludeDir(): string {
  return join(dirname(require.resolve('enet.c/package.json', { paths: [REPO_ROOT] })), 'include');
}

/** gcc command line used for every program, also printed in the results. */
export function compileCommand(program: Program): string[] {
  return [
    'gcc',
    '-O2',
    '-std=gnu99',
    '-Wall',
    '-Wno-unused-function',
    '-I',
    enetIncludeDir(),
    '-I',
    SOURCE_DIR,
    '-o',
    join(BUILD_DIR, program),
    join(SOURCE_DIR, `${program}.c`),
  ];
}

/** Builds the C programs that are missing or older than their sources (or enet.h). Returns their paths. */
export function ensureBuilt(): Record<Program, string> {
  mkdirSync(BUILD_DIR, { recursive: true });
  const inputs = (program: Program): string[] => [
    join(SOURCE_DIR, `${program}.c`),
    join(SOURCE_DIR, 'bench-common.h'),
    join(enetIncludeDir(), 'enet.h'),
  ];
  const paths = {} as Record<Program, string>;
  for (const program of PROGRAMS) {
    const output = join(BUILD_DIR, program);
    const isStale = !existsSync(output) || inputs(program).some((input) => statSync(input).mtimeMs > statSync(output).mtimeMs);
    if (isStale) {
      const [cc, ...args] = compileCommand(program);
      try {
        execFileSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
      } catch (error) {
        throw new Error(`Could not build ${program} with gcc (install gcc, or skip the C baseline): ${String(error)}`);
      }
    }
    paths[program] = output;
  }
  return paths;
}

/** One running C side: its "PORT n" line and its "RESULT {json}" line, whichever it prints. */
class CSide<TResult> {
  readonly process: ChildProcess;
  readonly port: Promise<number>;
  readonly result: Promise<TResult | undefined>;

  constructor(file: string, args: readonly string[]) {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    this.process = child;
    let resolvePort: (port: number) => void = () => undefined;
    let rejectPort: (error: Error) => void = () => undefined;
    this.port = new Promise((resolve, reject) => {
      resolvePort = resolve;
      rejectPort = reject;
    });
    this.result = new Promise((resolve, reject) => {
      let output = '';
      let result: TResult | undefined;
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        output += chunk;
        let newline: number;
        while ((newline = output.indexOf('\n')) >= 0) {
          const line = output.slice(0, newline);
          output = output.slice(newline + 1);
          if (line.startsWith('PORT ')) resolvePort(Number(line.slice(5)));
          if (line.startsWith('RESULT ')) result = JSON.parse(line.slice(7)) as TResult;
        }
      });
      child.on('exit', (code, signal) => {
        if (code === 0) {
          rejectPort(new Error(`${args[0]} exited before printing its port`));
          resolve(result);
          return;
        }
        const error = new Error(`C ${args[0]} exited with code ${code} signal ${signal}`);
        rejectPort(error);
        reject(error);
      });
    });
    // A side that prints no port (a sender, a client) rejects `port` at exit; nobody waits for it then.
    this.port.catch(() => undefined);
    this.result.catch(() => undefined);
  }

  kill(): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill();
  }
}

/** Starts the C receiver of the one-way trial; the caller connects a sender (C or netpeer) to its port. */
export function startCReceiver(options: ThroughputOptions): CSide<ThroughputResult> {
  const { 'enet-throughput': program } = ensureBuilt();
  return new CSide<ThroughputResult>(program, [
    'recv',
    String(options.warmup + options.messages),
    String(options.warmup),
    options.channel === 'reliable' ? '1' : '0',
    String(options.creditEvery),
  ]);
}

/** Starts the C sender of the one-way trial towards a receiver (C or netpeer) on 127.0.0.1:port. */
export function startCSender(options: ThroughputOptions, port: number): CSide<unknown> {
  const { 'enet-throughput': program } = ensureBuilt();
  return new CSide<unknown>(program, [
    'send',
    String(port),
    String(options.warmup + options.messages),
    options.channel === 'reliable' ? '1' : '0',
    String(options.window),
    String(options.burst),
    String(options.maxQueuedBytes),
  ]);
}

/** One C one-way trial, both sides in C. The result has the same shape and meaning as the netpeer one. */
export async function runCThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const receiver = startCReceiver(options);
  try {
    const sender = startCSender(options, await receiver.port);
    await sender.result;
  } catch (error) {
    receiver.kill();
    throw error;
  }
  const raw = (await receiver.result) as (ThroughputResult & { measured: number }) | undefined;
  if (raw === undefined) throw new Error('The C receiver printed no result');
  return { ...raw, lossRate: 1 - raw.measured / options.messages };
}

/** One C ping-pong trial: C server, C client (which measures). */
export async function runCPingPong(options: PingPongOptions): Promise<PingPongResult> {
  const { 'enet-pingpong': program } = ensureBuilt();
  const server = new CSide<unknown>(program, ['server']);
  let result: PingPongResult | undefined;
  try {
    const client = new CSide<PingPongResult>(program, [
      'client',
      String(await server.port),
      String(options.roundTrips),
      String(options.warmup),
    ]);
    result = await client.result;
    await server.result;
  } catch (error) {
    server.kill();
    throw error;
  }
  if (result === undefined) throw new Error('The C ping-pong client printed no result');
  return result;
}

async function main(): Promise<void> {
  // Loaded here so that importing this module does not load the netpeer benches.
  const { DEFAULT_THROUGHPUT_OPTIONS } = await import('./enet-throughput.bench');
  const { DEFAULT_PINGPONG_OPTIONS } = await import('./enet-pingpong.bench');
  const trials = argInt('trials', 5);
  ensureBuilt();
  console.log(`C ENet (enet.c, ${compileCommand('enet-throughput').slice(0, 2).join(' ')}), ${trials} trials each`);
  for (const channel of ['reliable', 'unreliable'] as const) {
    const rates: number[] = [];
    for (let i = 0; i < trials; i++) {
      await waitForQuiet();
      rates.push((await runCThroughput({ ...DEFAULT_THROUGHPUT_OPTIONS[channel], channel })).rate);
    }
    const s = summarize(rates);
    console.log(`  one-way ${channel}: median ${formatInt(s.median)} messages/s, min ${formatInt(s.min)}, max ${formatInt(s.max)}`);
  }
  const rtts: number[] = [];
  for (let i = 0; i < trials; i++) {
    await waitForQuiet();
    rtts.push((await runCPingPong(DEFAULT_PINGPONG_OPTIONS)).meanUs);
  }
  const s = summarize(rtts);
  console.log(`  ping-pong mean RTT: median ${formatFixed(s.median, 2)} us, min ${formatFixed(s.min, 2)}, max ${formatFixed(s.max, 2)}`);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
