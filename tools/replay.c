// The project's native trace replayer: replays a malloc-trace v1 file (plain or gzip) with the
// process's own malloc (choose it with LD_PRELOAD) on the live kernel, writing every newly
// allocated byte as the simulator does, and prints one JSON object with the fields of a
// simulated run, measured.
//
//   cc -O2 -o tools/bin/replay tools/replay.c -lz
//   [LD_PRELOAD=libjemalloc.so.2] tools/bin/replay TRACE
//
// Phase 1 loads the trace with zlib (gzbuffer 256 KiB, as ../shared/traces/tools/replay.c does,
// so the allocator starts in the state the simulator's replay preamble models) into arrays the
// allocator never sees (mmap). Phase 2 replays on one thread (`t` lines are followed in order but
// run on this thread; with --threads each trace thread gets a pthread) and is the only phase measured: mmap_lock acquisitions from the
// mmap_lock_acquire_returned tracepoint, memory syscalls from syscalls:sys_enter_*, minor
// faults, and /proc/self/maps and smaps_rollup sampled every SAMPLE events (sampling time is not
// counted in wallMs). VMAs are the process's anonymous ones (no path, [heap], [anon:...]), its
// libraries' included (vmaStart says how many were there before the replay); RSS is the
// anonymous memory beyond that at the start.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
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
#include <zlib.h>

enum { OP_A = 1, OP_C, OP_M, OP_R, OP_F, OP_T };
struct op { uint8_t kind; uint64_t a, b, c; };
struct slot { char *p; uint64_t size; };

#define SAMPLE 20000
static struct op *ops;
static uint64_t nops, capops;
static struct slot *slots;
static uint64_t nslots;

static void *grow(void *p, uint64_t oldb, uint64_t newb) {
  void *q = oldb ? mremap(p, oldb, newb, MREMAP_MAYMOVE) : mmap(0, newb, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (q == MAP_FAILED) { perror("replay: mmap"); exit(3); }
  return q;
}

static void load(const char *path) {
  gzFile f = gzopen(path, "rb");
  if (!f) { fprintf(stderr, "replay: cannot open %s\n", path); exit(2); }
  gzbuffer(f, 256 << 10);
  char line[4096];
  uint64_t maxid = 0, lineno = 0;
  while (gzgets(f, line, sizeof line)) {
    lineno++;
    if (line[0] == '#' || line[0] == '\n') continue;
    struct op o = {0};
    int n = 0;
    switch (line[0]) {
      case 'a': o.kind = OP_A; n = sscanf(line + 1, "%lu %lu", &o.a, &o.b) == 2; break;
      case 'c': o.kind = OP_C; n = sscanf(line + 1, "%lu %lu %lu", &o.a, &o.b, &o.c) == 3; break;
      case 'm': o.kind = OP_M; n = sscanf(line + 1, "%lu %lu %lu", &o.a, &o.b, &o.c) == 3; break;
      case 'r': o.kind = OP_R; n = sscanf(line + 1, "%lu %lu %lu", &o.a, &o.b, &o.c) == 3; break;
      case 'f': o.kind = OP_F; n = sscanf(line + 1, "%lu", &o.a) == 1; break;
      case 't': o.kind = OP_T; n = sscanf(line + 1, "%lu", &o.a) == 1; break;
    }
    if (!n) { fprintf(stderr, "replay: %s:%lu: bad line\n", path, lineno); exit(2); }
    if (o.kind != OP_T && o.a > maxid) maxid = o.a;
    if (o.kind == OP_R && o.b > maxid) maxid = o.b;
    if (nops == capops) {
      uint64_t c = capops ? capops * 2 : 1 << 16;
      ops = grow(ops, capops * sizeof *ops, c * sizeof *ops);
      capops = c;
    }
    ops[nops++] = o;
  }
  gzclose(f);
  nslots = maxid + 1;
  slots = grow(NULL, 0, nslots * sizeof *slots);
}

// ---- measurement ----------------------------------------------------------------------------
static const char *tracefs(void) {
  static const char *roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing", "/tmp/uffd-malloc-tracefs"};
  for (int i = 0; i < 3; i++) {
    char p[256];
    if (i == 2) { mkdir(roots[2], 0700); mount("nodev", roots[2], "tracefs", 0, NULL); }
    snprintf(p, sizeof p, "%s/events", roots[i]);
    if (access(p, R_OK) == 0) return roots[i];
  }
  return NULL;
}

static int tracepoint(const char *root, const char *ev, const char *filter) {
  if (!root) return -1;
  char p[512];
  snprintf(p, sizeof p, "%s/events/%s/id", root, ev);
  FILE *f = fopen(p, "r");
  int id = -1;
  if (f) { if (fscanf(f, "%d", &id) != 1) id = -1; fclose(f); }
  if (id < 0) return -1;
  struct perf_event_attr a = {.type = PERF_TYPE_TRACEPOINT, .size = sizeof a, .config = (unsigned)id, .disabled = 1, .inherit = 1};
  int fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
  if (fd >= 0 && filter && ioctl(fd, PERF_EVENT_IOC_SET_FILTER, filter)) { close(fd); fd = -1; }
  return fd;
}

static int software(unsigned config) {
  struct perf_event_attr a = {.type = PERF_TYPE_SOFTWARE, .size = sizeof a, .config = config, .disabled = 1, .inherit = 1};
  return syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static long long count(int fd) {
  long long v;
  if (fd < 0 || read(fd, &v, sizeof v) != sizeof v) return -1;
  return v;
}

/** Anonymous VMAs (no path, [heap] or [anon:...]) in /proc/self/maps. */
static int anon_vmas(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[1024];
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    char *path = NULL;
    int fields = 0;
    for (char *p = line; *p; p++) if ((p == line || p[-1] == ' ') && *p != ' ' && ++fields == 6) { path = p; break; }
    if (!path || *path == '\n' || !strncmp(path, "[heap]", 6) || !strncmp(path, "[anon:", 6)) n++;
  }
  fclose(f);
  return n;
}

/** A field of /proc/self/smaps_rollup, in bytes. */
static long long rollup(const char *field) {
  FILE *f = fopen("/proc/self/smaps_rollup", "r");
  char line[256];
  long long v = -1;
  size_t n = strlen(field);
  while (fgets(line, sizeof line, f)) if (!strncmp(line, field, n) && line[n] == ':') { v = atoll(line + n + 1) * 1024; break; }
  fclose(f);
  return v;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// ---- the replay --------------------------------------------------------------------------------
static int threaded;
static uint64_t events;
static double spent, t0;
static int vma_peak;
static long long anon_peak;

/** Sample the VMAs and RSS now and then; the time it takes is not the replay's. */
static void sample(void) {
  double s0 = now();
  int v = anon_vmas();
  long long a = rollup("Anonymous");
  if (v > vma_peak) vma_peak = v;
  if (a > anon_peak) anon_peak = a;
  spent += now() - s0;
}

/** Replay ops[from..] as trace thread `self` until the trace hands over to another thread; returns that op's index. */
static uint64_t replay_from(uint64_t from, uint64_t self) {
  for (uint64_t i = from; i < nops; i++) {
    struct op *o = &ops[i];
    switch (o->kind) {
      case OP_A: case OP_C: case OP_M: {
        uint64_t n = o->kind == OP_A ? o->b : o->kind == OP_C ? o->b * o->c : o->c;
        char *p = o->kind == OP_A ? malloc(n) : o->kind == OP_C ? calloc(o->b, o->c) : aligned_alloc(o->b, n);
        if (p && n) memset(p, 0xa5, n);
        slots[o->a] = (struct slot){p, n};
        break;
      }
      case OP_R: {
        struct slot s = slots[o->a];
        char *p = realloc(s.p, o->c);
        if (p && o->c > s.size) memset(p + s.size, 0xa5, o->c - s.size);
        slots[o->a] = (struct slot){0, 0};
        slots[o->b] = (struct slot){p, o->c};
        break;
      }
      case OP_F:
        free(slots[o->a].p);
        slots[o->a] = (struct slot){0, 0};
        break;
      default:
        if (threaded && o->a != self) return i;
        continue;
    }
    if (++events % SAMPLE == 0) sample();
  }
  return nops;
}

/*
 * --threads: each trace thread replays on a pthread of its own, handing a baton at every `t`
 * line, so the order stays the trace's while the allocator sees the calls come from different
 * threads (glibc's per-thread arenas, as in the traced program).
 */
#define MAX_THREADS 256
static pthread_mutex_t baton_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t baton_cond = PTHREAD_COND_INITIALIZER;
static uint64_t baton, next_op;
static int finished;

static void *trace_thread(void *arg) {
  uint64_t self = (uint64_t)(uintptr_t)arg;
  pthread_mutex_lock(&baton_lock);
  for (;;) {
    while (!finished && baton != self) pthread_cond_wait(&baton_cond, &baton_lock);
    if (finished) break;
    uint64_t at = next_op;
    pthread_mutex_unlock(&baton_lock);
    uint64_t stop = replay_from(at, self);
    pthread_mutex_lock(&baton_lock);
    if (stop >= nops) finished = 1;
    else { next_op = stop + 1; baton = ops[stop].a; }
    pthread_cond_broadcast(&baton_cond);
  }
  pthread_mutex_unlock(&baton_lock);
  return NULL;
}

static uint64_t nthreads = 1;

static void run_threads(void) {
  uint64_t n = 1;
  for (uint64_t i = 0; i < nops; i++) if (ops[i].kind == OP_T && ops[i].a + 1 > n) n = ops[i].a + 1;
  if (n > MAX_THREADS) { fprintf(stderr, "replay: more than %d threads\n", MAX_THREADS); exit(2); }
  pthread_t t[MAX_THREADS];
  for (uint64_t k = 0; k < n; k++) pthread_create(&t[k], NULL, trace_thread, (void *)(uintptr_t)k);
  for (uint64_t k = 0; k < n; k++) pthread_join(t[k], NULL);
  nthreads = n;
}

static const char *SYSCALLS[] = {"mmap", "munmap", "mremap", "mprotect", "madvise", "brk"};
#define NSYS (sizeof SYSCALLS / sizeof SYSCALLS[0])

/**
 * `replay --user-costs`: what the user-space part of a replay costs on this machine with this
 * malloc: ns per malloc-family call (a malloc+free pair over small sizes, halved) and ns per byte
 * of memset into memory already faulted in (its page faults are the kernel's part).
 */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int user_costs(void) {
  // a replay-like mix: a large live set (as a trace's peak), slots picked at random, sizes
  // mostly small, each new block written, as replay writes it; memset's own cost is taken out
  enum { N = 1 << 20, LIVE = 1 << 18 };
  char **live = mmap(0, LIVE * sizeof *live, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint32_t x = 12345;
  for (int i = 0; i < LIVE; i++) { x = x * 1664525 + 1013904223; live[i] = malloc(16 + (x >> 8) % 240); }
  double runs[7];
  for (int r = 0; r < 7; r++) {
    double t = now();
    for (int i = 0; i < N; i++) {
      x = x * 1664525 + 1013904223;
      int k = (x >> 4) % LIVE;
      free(live[k]);
      size_t n = 16 + (x >> 12) % 240;
      live[k] = malloc(n);
      live[k][0] = 1;
      live[k][n - 1] = 1;
    }
    runs[r] = (now() - t) / N / 2 * 1e9;
  }
  qsort(runs, 7, sizeof runs[0], cmp_double);
  double best = runs[3]; // the median: this kind of machine is noisy
  for (int i = 0; i < LIVE; i++) free(live[i]);
  // memset of blocks much larger than the caches, already faulted in
  size_t len = 256 << 20;
  char *buf = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  madvise(buf, len, MADV_NOHUGEPAGE);
  memset(buf, 1, len);
  double bw = 1e9;
  for (int r = 0; r < 5; r++) {
    double t = now();
    memset(buf, (r & 0x7f) + 1, len);
    t = (now() - t) / len * 1e9;
    if (t < bw) bw = t;
  }
  munmap(buf, len);
  printf("{\"callNs\": %.2f, \"memsetNsPerByte\": %.4f}\n", best, bw);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--user-costs")) return user_costs();
  threaded = argc == 3 && !strcmp(argv[1], "--threads");
  if (argc != 2 + threaded) { fprintf(stderr, "usage: replay [--threads] TRACE | replay --user-costs\n"); return 2; }
  load(argv[1 + threaded]);
  const char *root = tracefs();
  int lockw = tracepoint(root, "mmap_lock/mmap_lock_acquire_returned", "write == 1 && success == 1");
  int lockr = tracepoint(root, "mmap_lock/mmap_lock_acquire_returned", "write == 0 && success == 1");
  int sys[NSYS];
  for (size_t i = 0; i < NSYS; i++) {
    char ev[64];
    snprintf(ev, sizeof ev, "syscalls/sys_enter_%s", SYSCALLS[i]);
    sys[i] = tracepoint(root, ev, NULL);
  }
  int faults = software(PERF_COUNT_SW_PAGE_FAULTS_MIN);
  int all[NSYS + 3] = {lockw, lockr, faults};
  for (size_t i = 0; i < NSYS; i++) all[3 + i] = sys[i];

  const int vma0 = anon_vmas();
  const long long anon0 = rollup("Anonymous");
  vma_peak = vma0;
  anon_peak = anon0;
  t0 = now();
  for (size_t i = 0; i < NSYS + 3; i++) if (all[i] >= 0) ioctl(all[i], PERF_EVENT_IOC_ENABLE, 0);
  if (threaded) run_threads();
  else replay_from(0, 0);
  double wall = now() - t0 - spent;
  for (size_t i = 0; i < NSYS + 3; i++) if (all[i] >= 0) ioctl(all[i], PERF_EVENT_IOC_DISABLE, 0);
  const int vma_end = anon_vmas();
  const long long anon_end = rollup("Anonymous"), ahp = rollup("AnonHugePages");
  if (vma_end > vma_peak) vma_peak = vma_end;
  if (anon_end > anon_peak) anon_peak = anon_end;
  long long rss = anon_end - anon0;
  printf("{\"threads\": %lu, \"events\": %lu, \"wallMs\": %.1f, \"vmaPeak\": %d, \"vmaFinal\": %d, \"vmaStart\": %d, ", nthreads, events, wall * 1e3, vma_peak, vma_end, vma0);
  printf("\"rssPeakBytes\": %lld, \"rssFinalBytes\": %lld, \"anonHugeBytesFinal\": %lld, \"thpCoverage\": %.4f, ", anon_peak - anon0, rss, ahp, rss > 0 ? (double)ahp / anon_end : 0.0);
  printf("\"mmapLockWrite\": %lld, \"mmapLockRead\": %lld, \"faults\": {\"minor\": %lld}, \"syscalls\": {", count(lockw), count(lockr), count(faults));
  for (size_t i = 0; i < NSYS; i++) printf("%s\"%s\": %lld", i ? ", " : "", SYSCALLS[i], count(sys[i]));
  printf("}}\n");
  return 0;
}
