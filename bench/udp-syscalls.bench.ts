// What one system call per datagram costs on loopback against batched calls (Linux): bench/c/udp-syscalls.c, built
// with gcc by c-enet.ts's ensureBuilt() into bench/.build/. Plain UDP sockets, no ENet: 1,000 datagrams of 64 bytes
// in 4 pieces per round, sent one sendmsg() each and then in sendmmsg() batches, read back one recvmsg() each and
// then in recvmmsg() batches; the median ns per datagram over the rounds, for each batch size. It is the measurement
// behind the addon's send batching (64 datagrams a call) and read-ahead (16).
//
//   npm run bench:udp-syscalls -- [--rounds 21]
import { execFileSync } from 'node:child_process';
import { argInt, formatInt, machineInfo, waitForQuiet } from './bench-common';
import { ensureBuilt } from './c-enet';

interface SyscallResult {
  readonly batch: number;
  readonly sendmsgNs: number;
  readonly sendmmsgNs: number;
  readonly recvmsgNs: number;
  readonly recvmmsgNs: number;
  readonly lost: number;
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') throw new Error('sendmmsg() and recvmmsg() are Linux calls');
  const rounds = argInt('rounds', 21);
  const program = ensureBuilt()['udp-syscalls'];
  const info = machineInfo();
  console.log(`udp-syscalls: ${info.date}, ${info.cpu} (${info.cores} cores), Linux ${info.kernel}, ${rounds} rounds of 1,000 datagrams`);
  console.log('');
  console.log('| Batch | sendmsg() ns/datagram | sendmmsg() ns/datagram | recvmsg() ns/datagram | recvmmsg() ns/datagram | Lost |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const batch of [16, 64]) {
    await waitForQuiet();
    const output = execFileSync(program, [String(rounds), String(batch)], { encoding: 'utf8' });
    const line = output.split('\n').find((each) => each.startsWith('RESULT '));
    if (line === undefined) throw new Error(`udp-syscalls printed no result: ${output}`);
    const r = JSON.parse(line.slice('RESULT '.length)) as SyscallResult;
    console.log(`| ${r.batch} | ${formatInt(r.sendmsgNs)} | ${formatInt(r.sendmmsgNs)} | ${formatInt(r.recvmsgNs)} | ${formatInt(r.recvmmsgNs)} | ${r.lost} |`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
