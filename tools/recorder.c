// uffd-malloc's recorder: runs a scenario (the kernel-oracle language, see README.md) on the real
// kernel of this machine and prints what happened, one line per operation, so that the project's
// conformance suite can be re-recorded on any kernel. `recorder --bench` measures the operations
// the simulator's benchmarks compare against.
//
//   cc -O2 -o tools/bin/recorder tools/recorder.c -lpthread
//   tools/bin/recorder < test/conformance/scenarios/zero-page-read.txt
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#define ADV_COLLAPSE 25
#define ADV_GUARD_INSTALL 102
#define ADV_GUARD_REMOVE 103
#define ADV_POPULATE_READ 22
#define ADV_POPULATE_WRITE 23
#define FEAT_WP_UNPOPULATED (1ULL << 13)
#define FEAT_POISON (1ULL << 14)
#define FEAT_WP_ASYNC (1ULL << 15)
#define FEAT_MOVE (1ULL << 16)
#define USER_MODE_ONLY 1
struct poison_arg { struct uffdio_range range; uint64_t mode; int64_t updated; };
struct move_arg { uint64_t dst, src, len, mode; int64_t move; };
#define IOCTL_POISON _IOWR(UFFDIO, 0x08, struct poison_arg)
#define IOCTL_MOVE _IOWR(UFFDIO, 0x05, struct move_arg)
#define MOVE_ALLOW_SRC_HOLES (1ULL << 1)

// the arena: 1 GiB, or RECORDER_ARENA_GB (verify replays whole heaps in it)
static uint64_t arena_size = 1ULL << 30;
#define MAXTOK 16

static char *arena;
static volatile int ufd = -1;
static int sink = -1;
static struct { char name[32]; int fd; } files[8];
static sigjmp_buf escape;
static volatile int sig_no;
static volatile uintptr_t sig_addr;

// ---- the monitor: a thread that drains the userfaultfd and resolves faults by policy ----
enum policy { P_NONE, P_ZERO, P_COPY, P_CONTINUE };
static volatile int mon_policy = P_NONE, mon_byte;
static char mon_log[8192];
static size_t mon_len;
static pthread_mutex_t mon_lock = PTHREAD_MUTEX_INITIALIZER;
static char page_buf[1 << 21] __attribute__((aligned(4096)));

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&mon_lock);
  if (mon_len < sizeof mon_log - 128) mon_len += vsnprintf(mon_log + mon_len, sizeof mon_log - mon_len, fmt, ap);
  pthread_mutex_unlock(&mon_lock);
  va_end(ap);
}

static unsigned long long rel(uint64_t a) { return (unsigned long long)(a - (uintptr_t)arena); }

#define MONITOR_STACK (256 << 10)
static void *monitor_stack;
static int monitor_started;
static void *monitor(void *unused);

/** Start the monitor thread, once. */
static void start_monitor(void) {
  if (monitor_started) return;
  monitor_started = 1;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setstack(&at, monitor_stack, MONITOR_STACK);
  pthread_t t;
  pthread_create(&t, &at, monitor, NULL);
  usleep(1000);
}

static void *monitor(void *unused) {
  (void)unused;
  for (;;) {
    int fd = ufd;
    if (fd < 0) { usleep(100); continue; }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, 50) <= 0) continue;
    struct uffd_msg m;
    if (read(fd, &m, sizeof m) != sizeof m) continue;
    if (m.event == UFFD_EVENT_PAGEFAULT) {
      uint64_t page = m.arg.pagefault.address & ~0xfffULL;
      uint64_t f = m.arg.pagefault.flags;
      const char *kind = f & UFFD_PAGEFAULT_FLAG_MINOR ? "minor" : f & UFFD_PAGEFAULT_FLAG_WP ? "wp"
                       : f & UFFD_PAGEFAULT_FLAG_WRITE ? "write" : "read";
      note(" fault(+0x%llx,%s)", rel(page), kind);
      if (mon_policy == P_ZERO) {
        struct uffdio_zeropage z = {.range = {page, 4096}};
        ioctl(fd, UFFDIO_ZEROPAGE, &z);
      } else if (mon_policy == P_COPY) {
        memset(page_buf, mon_byte, 4096);
        struct uffdio_copy c = {.dst = page, .src = (uintptr_t)page_buf, .len = 4096};
        ioctl(fd, UFFDIO_COPY, &c);
      } else if (mon_policy == P_CONTINUE) {
        struct uffdio_continue c = {.range = {page, 4096}};
        ioctl(fd, UFFDIO_CONTINUE, &c);
      }
    } else if (m.event == UFFD_EVENT_REMOVE || m.event == UFFD_EVENT_UNMAP) {
      note(" event(%s,+0x%llx,+0x%llx)", m.event == UFFD_EVENT_REMOVE ? "remove" : "unmap",
           rel(m.arg.remove.start), rel(m.arg.remove.end));
    } else if (m.event == UFFD_EVENT_REMAP) {
      uint64_t to = m.arg.remap.to;
      if (to < (uintptr_t)arena || to >= (uintptr_t)arena + arena_size) note(" event(remap,+0x%llx,elsewhere)", rel(m.arg.remap.from));
      else note(" event(remap,+0x%llx,+0x%llx)", rel(m.arg.remap.from), rel(to));
    } else {
      note(" event(%u,0)", m.event);
    }
  }
  return NULL;
}

/** A userfaultfd in SIGBUS mode asking for no events sends the monitor nothing to wait for. */
static int quiet_uffd;

static void print_log(void) {
  // events that do not block the caller arrive a little later: wait for them, unless none can come
  if (ufd >= 0 && !quiet_uffd) usleep(2000);
  pthread_mutex_lock(&mon_lock);
  fwrite(mon_log, 1, mon_len, stdout);
  mon_len = 0;
  pthread_mutex_unlock(&mon_lock);
}

// ---- parsing ----
static unsigned long long num(const char *s) {
  if (!s) return 0;
  char *e;
  unsigned long long v = strtoull(s, &e, 0);
  switch (*e) {
    case 'K': case 'k': return v << 10;
    case 'M': case 'm': return v << 20;
    case 'G': case 'g': return v << 30;
  }
  return v;
}
static int word(char **t, int n, const char *w) {
  for (int i = 0; i < n; i++) if (!strcmp(t[i], w)) return i;
  return -1;
}
static int prot(const char *s) {
  if (!s || !strcmp(s, "none")) return PROT_NONE;
  return (strchr(s, 'r') ? PROT_READ : 0) | (strchr(s, 'w') ? PROT_WRITE : 0) | (strchr(s, 'x') ? PROT_EXEC : 0);
}
static const char *ename(int e) {
  static const struct { int n; const char *s; } names[] = {
      {EPERM, "EPERM"}, {ENOENT, "ENOENT"}, {ESRCH, "ESRCH"}, {EINTR, "EINTR"}, {EIO, "EIO"}, {EBADF, "EBADF"},
      {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"}, {EFAULT, "EFAULT"}, {EBUSY, "EBUSY"},
      {EEXIST, "EEXIST"}, {EINVAL, "EINVAL"}, {ENOSPC, "ENOSPC"}, {ERANGE, "ERANGE"}, {ENOSYS, "ENOSYS"},
      {EOPNOTSUPP, "EOPNOTSUPP"}, {ENOTTY, "ENOTTY"}, {EHWPOISON, "EHWPOISON"}, {ESPIPE, "ESPIPE"}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) if (names[i].n == e) return names[i].s;
  static char b[16];
  snprintf(b, sizeof b, "E%d", e);
  return b;
}
static void ok_or_err(long r) { if (r) printf(" err %s", ename(errno)); else printf(" ok"); }
static int memfd_of(const char *name) {
  for (int i = 0; i < 8; i++) if (files[i].fd > 0 && name && !strcmp(files[i].name, name)) return files[i].fd;
  return -1;
}

// ---- /proc/self/smaps, reduced to the arena ----
static void smaps(int mode /* 0 maps, 1 count, 2 rss */) {
  static const char *kept[] = {"um", "uw", "ui", "hg", "nh", "lo", "dc", "wf", "sd"};
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[1024], head[256] = "", flags[128] = "";
  int inside = 0, count = 0;
  unsigned long long rss = 0, anon = 0, thp = 0, total = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long long s, e, v;
    char perms[8];
    unsigned long ino;
    if (sscanf(line, "%llx-%llx %7s %*x %*s %lu", &s, &e, perms, &ino) == 4 && strchr(line, '-') < strchr(line, ' ')) {
      inside = s >= (uintptr_t)arena && e <= (uintptr_t)arena + arena_size;
      if (inside) {
        count++;
        snprintf(head, sizeof head, "+0x%llx-+0x%llx %s %s", rel(s), rel(e), perms, ino ? "file" : "anon");
      }
      rss = anon = thp = 0;
      continue;
    }
    if (!inside) continue;
    if (sscanf(line, "Rss: %llu kB", &v) == 1) { rss = v; total += v; }
    else if (sscanf(line, "Anonymous: %llu kB", &v) == 1) anon = v;
    else if (sscanf(line, "AnonHugePages: %llu kB", &v) == 1) thp = v;
    else if (!strncmp(line, "VmFlags:", 8)) {
      flags[0] = 0;
      char *save, *tok = strtok_r(line + 8, " \n", &save);
      for (; tok; tok = strtok_r(NULL, " \n", &save))
        for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
          if (!strcmp(tok, kept[i])) { if (flags[0]) strcat(flags, ","); strcat(flags, tok); }
      // VmFlags closes a VMA's block
      if (mode == 0) printf("\n  %s rss=%llu anon=%llu thp=%llu flags=%s", head, rss, anon, thp, flags[0] ? flags : "-");
    }
  }
  fclose(f);
  if (mode == 1) printf(" %d", count);
  if (mode == 2) printf(" %llu", total);
}

// ---- mmap_lock acquisitions through the mmap_lock_acquire_returned tracepoint ----
static int trace_fd[2] = {-1, -1};
// page faults taken during the operations (the `faults` op): the kernel's software counter
static int fault_fd = -1;
static void trace_open(void) {
  struct perf_event_attr fa = {.type = PERF_TYPE_SOFTWARE, .size = sizeof fa, .config = PERF_COUNT_SW_PAGE_FAULTS, .disabled = 1};
  fault_fd = syscall(SYS_perf_event_open, &fa, 0, -1, -1, 0);
  static const char *roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing", "/tmp/uffd-malloc-tracefs"};
  int id = -1;
  for (int i = 0; i < 3 && id < 0; i++) {
    char p[256];
    if (i == 2) { mkdir(roots[2], 0700); mount("nodev", roots[2], "tracefs", 0, NULL); }
    snprintf(p, sizeof p, "%s/events/mmap_lock/mmap_lock_acquire_returned/id", roots[i]);
    FILE *f = fopen(p, "r");
    if (f) { if (fscanf(f, "%d", &id) != 1) id = -1; fclose(f); }
  }
  if (id < 0) return;
  for (int w = 0; w < 2; w++) {
    struct perf_event_attr a = {.type = PERF_TYPE_TRACEPOINT, .size = sizeof a, .config = (unsigned)id, .disabled = 1};
    trace_fd[w] = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
    const char *filter = w == 0 ? "write == 1 && success == 1" : "write == 0 && success == 1";
    if (trace_fd[w] >= 0 && ioctl(trace_fd[w], PERF_EVENT_IOC_SET_FILTER, filter)) { close(trace_fd[w]); trace_fd[w] = -1; }
  }
}
/** RECORDER_TIMING: no counters around operations, so `elapsed` times the kernel work alone; each timed line ends with its own time (@ns). */
static int timing_only;
static void trace_enable(int on) {
  if (timing_only) return;
  for (int w = 0; w < 2; w++) if (trace_fd[w] >= 0) ioctl(trace_fd[w], on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
  if (fault_fd >= 0) ioctl(fault_fd, on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
}
static void faults_print(void) {
  unsigned long long v;
  if (fault_fd < 0 || read(fault_fd, &v, sizeof v) != sizeof v) { printf(" err ENOTSUP"); return; }
  ioctl(fault_fd, PERF_EVENT_IOC_RESET, 0);
  printf(" ok %llu", v);
}
static void trace_print(void) {
  if (trace_fd[0] < 0 || trace_fd[1] < 0) { printf(" err ENOTSUP"); return; }
  unsigned long long v[2];
  for (int w = 0; w < 2; w++) {
    if (read(trace_fd[w], &v[w], sizeof v[w]) != sizeof v[w]) v[w] = 0;
    ioctl(trace_fd[w], PERF_EVENT_IOC_RESET, 0);
  }
  printf(" ok write=%llu read=%llu", v[0], v[1]);
}

static void on_fault_signal(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  sig_no = sig;
  sig_addr = (uintptr_t)si->si_addr;
  siglongjmp(escape, 1);
}

#include "recorder-ops.h"
#include "recorder-bench.h"
#include "recorder-contention.h"

static uint64_t op_ns;

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--bench")) return bench_main(argc - 1, argv + 1);
  if (argc > 1 && !strcmp(argv[1], "--contention")) return contention_main(argc - 1, argv + 1);
  setvbuf(stdout, NULL, _IOLBF, 0);
  timing_only = getenv("RECORDER_TIMING") != NULL;
  const char *gb = getenv("RECORDER_ARENA_GB");
  if (gb && strtoull(gb, NULL, 0) > 0) arena_size = strtoull(gb, NULL, 0) << 30;
  puts("# real kernel");
  sink = memfd_create("sink", MFD_CLOEXEC);
  if (ftruncate(sink, 1 << 24)) return 1;
  // the monitor thread's stack is made now, before the arena is chosen, so it never lands in the
  // arena; with RECORDER_LAZY_MONITOR the thread starts only when a scenario needs it (a uffd
  // that sends events or waits for a monitor, or `monitor`): a process with one thread flushes
  // its TLB without IPIs, as the single-threaded programs the simulator models do
  monitor_stack = mmap(NULL, MONITOR_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(monitor_stack, 0, MONITOR_STACK); // faulted in now, not while a scenario counts locks
  memset(page_buf, 0, sizeof page_buf);      // likewise the copy buffer: its faults are not the scenario's
  // RECORDER_LAZY_MONITOR (verify's timing run): no second thread unless a scenario needs one
  if (!getenv("RECORDER_LAZY_MONITOR")) start_monitor();
  // a free, 1 GiB-aligned window: reserve twice its size, keep the aligned middle in mind, let go
  char *probe = mmap(NULL, 2 * arena_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  arena = (char *)(((uintptr_t)probe + arena_size - 1) & ~(uintptr_t)(arena_size - 1));
  munmap(probe, 2 * arena_size);
  struct sigaction sa = {.sa_sigaction = on_fault_signal, .sa_flags = SA_SIGINFO | SA_NODEFER};
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  trace_open();
  char line[4096];
  int n = 0;
  while (fgets(line, sizeof line, stdin)) {
    char *cut = strpbrk(line, "#\n");
    if (cut) *cut = 0;
    for (size_t L = strlen(line); L && (line[L - 1] == ' ' || line[L - 1] == '\t' || line[L - 1] == '\r');) line[--L] = 0;
    char buf[4096], *tok[MAXTOK];
    int nt = 0;
    strcpy(buf, line);
    for (char *s, *p = strtok_r(buf, " \t", &s); p && nt < MAXTOK; p = strtok_r(NULL, " \t", &s)) tok[nt++] = p;
    if (!nt) continue;
    printf("%d %s ->", ++n, line);
    // elapsed: the time the operations since the last elapsed took (inspections excluded)
    if (!strcmp(tok[0], "elapsed")) {
      printf(" ok %llu\n", (unsigned long long)op_ns);
      op_ns = 0;
      continue;
    }
    int timed = strcmp(tok[0], "maps") && strcmp(tok[0], "count") && strcmp(tok[0], "rss") && strcmp(tok[0], "events") && strcmp(tok[0], "locks") && strcmp(tok[0], "faults");
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    run_op(tok, nt);
    clock_gettime(CLOCK_MONOTONIC, &b);
    uint64_t ns = (b.tv_sec - a.tv_sec) * 1000000000ULL + (b.tv_nsec - a.tv_nsec);
    if (timed) op_ns += ns;
    // timing runs also give each operation's own time, after an @ (verify tells a store's
    // user time from the kernel's work in it)
    if (timed && timing_only) printf(" @%llu", (unsigned long long)ns);
    putchar('\n');
  }
  return 0;
}
