import { describe, expect, test } from "bun:test";
import { bubblewrapCommand, type SandboxSpec, SECCOMP_FD } from "../../../src/plugins/supervisor/sandbox.ts";
import {
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_X86_64,
  BPF_JEQ_K,
  BPF_JGE_K,
  BPF_LD_W_ABS,
  BPF_RET_K,
  DENIED_SYSCALLS,
  decodeProgram,
  EPERM,
  encodeProgram,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  type SeccompArch,
  type SockFilter,
  seccompArch,
  seccompProgram,
  X32_SYSCALL_BIT,
} from "../../../src/plugins/supervisor/seccomp.ts";

/** Runs the decoded program the way the kernel does, for one (arch, nr) pair. */
function evaluate(program: SockFilter[], arch: number, nr: number): number {
  let acc = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const f = program[pc] as SockFilter;
    if (f.code === BPF_LD_W_ABS) acc = f.k === 4 ? arch : f.k === 0 ? nr : Number.NaN;
    else if (f.code === BPF_JEQ_K) pc += acc === f.k ? f.jt : f.jf;
    else if (f.code === BPF_JGE_K) pc += acc >= f.k ? f.jt : f.jf;
    else if (f.code === BPF_RET_K) return f.k;
    else throw new Error(`unexpected opcode ${f.code}`);
  }
  throw new Error("fell off the end of the program");
}

const ARCHES: Array<[SeccompArch, number, number]> = [
  ["x64", AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64],
  ["arm64", AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64],
];
const DENY = SECCOMP_RET_ERRNO | EPERM;

describe("the plugin seccomp program", () => {
  for (const [arch, audit, foreign] of ARCHES) {
    test(`${arch}: the arch check comes first, and a foreign architecture's call kills the process`, () => {
      const program = decodeProgram(encodeProgram(seccompProgram(arch)));
      expect(program.slice(0, 3)).toEqual([
        { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: 4 },
        { code: BPF_JEQ_K, jt: 1, jf: 0, k: audit },
        { code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_RET_KILL_PROCESS },
      ]);
      expect(evaluate(program, foreign, 0)).toBe(SECCOMP_RET_KILL_PROCESS);
      expect(evaluate(program, 0x40000003, 0)).toBe(SECCOMP_RET_KILL_PROCESS); // i386 on x86_64
    });

    test(`${arch}: every denied call gets EPERM, everything else is allowed`, () => {
      const program = decodeProgram(encodeProgram(seccompProgram(arch)));
      const denied = new Set<number>();
      for (const [name, numbers] of Object.entries(DENIED_SYSCALLS)) {
        const nr = numbers[arch];
        if (nr === undefined) continue;
        denied.add(nr);
        expect([name, evaluate(program, audit, nr)]).toEqual([name, DENY]);
      }
      expect(denied.size).toBeGreaterThan(30);
      for (let nr = 0; nr < 460; nr++)
        if (!denied.has(nr)) expect(evaluate(program, audit, nr)).toBe(SECCOMP_RET_ALLOW);
    });
  }

  test("the numbers of the calls the sandbox test probes (unshare, ptrace) and the x32 ABI on x86_64", () => {
    expect(DENIED_SYSCALLS.unshare).toEqual({ x64: 272, arm64: 97 });
    expect(DENIED_SYSCALLS.ptrace).toEqual({ x64: 101, arm64: 117 });
    expect(DENIED_SYSCALLS.clone3).toBeUndefined(); // the runtime starts threads with it
    const x64 = seccompProgram("x64");
    expect(evaluate(x64, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 1)).toBe(DENY);
    expect(evaluate(seccompProgram("arm64"), AUDIT_ARCH_AARCH64, X32_SYSCALL_BIT | 1)).toBe(SECCOMP_RET_ALLOW);
  });

  test("encoding is struct sock_filter: u16 code, u8 jt, u8 jf, u32 k, little-endian", () => {
    const bytes = encodeProgram([{ code: 0x0115, jt: 2, jf: 3, k: 0xc000003e }]);
    expect([...bytes]).toEqual([0x15, 0x01, 2, 3, 0x3e, 0x00, 0x00, 0xc0]);
  });

  test("a filter only on Linux x86_64 and arm64", () => {
    expect(seccompArch("linux", "x64")).toBe("x64");
    expect(seccompArch("linux", "arm64")).toBe("arm64");
    expect(seccompArch("linux", "ia32")).toBeNull();
    expect(seccompArch("darwin", "arm64")).toBeNull();
  });

  test("bwrap gets --seccomp on the fd the program is passed on", () => {
    const spec: SandboxSpec = {
      plugin: "probe",
      pluginDir: "/tmp",
      dataDirs: {},
      socketDir: "/tmp",
      runtime: { executable: process.execPath, sourceRoot: null },
      network: false,
      memoryBytes: 256 * 1024 * 1024,
      asRoot: false,
    };
    const cmd = bubblewrapCommand("/usr/bin/bwrap", spec);
    if (!seccompArch()) {
      expect(cmd.seccomp).toBeNull();
      expect(cmd.argv).not.toContain("--seccomp");
      return;
    }
    const at = cmd.argv.indexOf("--seccomp");
    expect(cmd.argv[at + 1]).toBe(String(SECCOMP_FD));
    expect(at).toBeLessThan(cmd.argv.indexOf("/usr/bin/prlimit"));
    expect(cmd.seccomp).toEqual(encodeProgram(seccompProgram(seccompArch() as SeccompArch)));
  });
});
