/**
 * The seccomp filter a plugin process runs under on Linux x86_64 and arm64 (docs/THREAT_MODEL.md,
 * "Plugins"): a classic BPF program bubblewrap installs with `--seccomp FD` just before it starts the
 * runtime. A system call made under another architecture's numbering kills the process; the system
 * calls a plugin never needs (tracing, namespaces, mounts, kernel modules, keyrings, …) fail with EPERM;
 * everything else is allowed. Other platforms get no filter.
 */

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const EPERM = 1;
/** x86_64 numbers at or above this bit are the x32 ABI: a second numbering of the same calls. */
export const X32_SYSCALL_BIT = 0x40000000;

// Classic BPF opcodes (linux/filter.h).
export const BPF_LD_W_ABS = 0x20;
export const BPF_JEQ_K = 0x15;
export const BPF_JGE_K = 0x35;
export const BPF_RET_K = 0x06;

/** Offsets into struct seccomp_data. */
const NR_OFFSET = 0;
const ARCH_OFFSET = 4;

export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export type SeccompArch = "x64" | "arm64";

/** What a plugin never needs, by name, with each architecture's number (absent: no such call there). */
export const DENIED_SYSCALLS: Record<string, { x64: number; arm64?: number }> = {
  ptrace: { x64: 101, arm64: 117 },
  process_vm_readv: { x64: 310, arm64: 270 },
  process_vm_writev: { x64: 311, arm64: 271 },
  mount: { x64: 165, arm64: 40 },
  umount2: { x64: 166, arm64: 39 },
  pivot_root: { x64: 155, arm64: 41 },
  chroot: { x64: 161, arm64: 51 },
  open_tree: { x64: 428, arm64: 428 },
  move_mount: { x64: 429, arm64: 429 },
  fsopen: { x64: 430, arm64: 430 },
  fsconfig: { x64: 431, arm64: 431 },
  fsmount: { x64: 432, arm64: 432 },
  fspick: { x64: 433, arm64: 433 },
  mount_setattr: { x64: 442, arm64: 442 },
  unshare: { x64: 272, arm64: 97 },
  setns: { x64: 308, arm64: 268 },
  kexec_load: { x64: 246, arm64: 104 },
  kexec_file_load: { x64: 320, arm64: 294 },
  init_module: { x64: 175, arm64: 105 },
  finit_module: { x64: 313, arm64: 273 },
  delete_module: { x64: 176, arm64: 106 },
  bpf: { x64: 321, arm64: 280 },
  perf_event_open: { x64: 298, arm64: 241 },
  keyctl: { x64: 250, arm64: 219 },
  add_key: { x64: 248, arm64: 217 },
  request_key: { x64: 249, arm64: 218 },
  userfaultfd: { x64: 323, arm64: 282 },
  open_by_handle_at: { x64: 304, arm64: 265 },
  name_to_handle_at: { x64: 303, arm64: 264 },
  swapon: { x64: 167, arm64: 224 },
  swapoff: { x64: 168, arm64: 225 },
  reboot: { x64: 169, arm64: 142 },
  acct: { x64: 163, arm64: 89 },
  quotactl: { x64: 179, arm64: 60 },
  quotactl_fd: { x64: 443, arm64: 443 },
  iopl: { x64: 172 },
  ioperm: { x64: 173 },
  personality: { x64: 135, arm64: 92 },
};

const AUDIT_ARCH: Record<SeccompArch, number> = { x64: AUDIT_ARCH_X86_64, arm64: AUDIT_ARCH_AARCH64 };

/** The architecture a filter is built for here, or null where there is none (not Linux x86_64/arm64). */
export function seccompArch(platform: string = process.platform, arch: string = process.arch): SeccompArch | null {
  if (platform !== "linux") return null;
  return arch === "x64" || arch === "arm64" ? arch : null;
}

/** The filter as instructions. */
export function seccompProgram(arch: SeccompArch): SockFilter[] {
  const denied = [...new Set(Object.values(DENIED_SYSCALLS).flatMap((n) => (n[arch] === undefined ? [] : [n[arch]])))];
  const head: SockFilter[] = [
    { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: ARCH_OFFSET },
    { code: BPF_JEQ_K, jt: 1, jf: 0, k: AUDIT_ARCH[arch] },
    { code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_RET_KILL_PROCESS },
    { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: NR_OFFSET },
  ];
  // Each check jumps forward to the single deny at the end; `jt` counts the instructions skipped.
  const checks: Array<{ code: number; k: number }> = [
    ...(arch === "x64" ? [{ code: BPF_JGE_K, k: X32_SYSCALL_BIT }] : []),
    ...denied.map((k) => ({ code: BPF_JEQ_K, k })),
  ];
  const body = checks.map((c, i) => ({ code: c.code, jt: checks.length - i, jf: 0, k: c.k }));
  return [
    ...head,
    ...body,
    { code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW },
    { code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | EPERM },
  ];
}

/** The program as bwrap reads it: struct sock_filter entries, little-endian (both architectures are). */
export function encodeProgram(program: SockFilter[]): Uint8Array {
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach((f, i) => {
    view.setUint16(i * 8, f.code, true);
    view.setUint8(i * 8 + 2, f.jt);
    view.setUint8(i * 8 + 3, f.jf);
    view.setUint32(i * 8 + 4, f.k, true);
  });
  return bytes;
}

export function decodeProgram(bytes: Uint8Array): SockFilter[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SockFilter[] = [];
  for (let at = 0; at + 8 <= bytes.byteLength; at += 8) {
    out.push({
      code: view.getUint16(at, true),
      jt: view.getUint8(at + 2),
      jf: view.getUint8(at + 3),
      k: view.getUint32(at + 4, true),
    });
  }
  return out;
}

/** This machine's filter, encoded, or null where there is none. */
export function seccompFilter(): Uint8Array | null {
  const arch = seccompArch();
  return arch ? encodeProgram(seccompProgram(arch)) : null;
}
