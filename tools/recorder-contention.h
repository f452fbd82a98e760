// `recorder --contention MODE [SECONDS]`: what one thread's memory-management work costs another
// thread of the process. Thread F (CPU 0) write-faults 4 KiB pages of its own 2 MiB region and
// drops them with MADV_DONTNEED every 512 faults; thread B (CPU 1) loops over MODE. Prints
// `MODE VICTIM_NS_PER_FAULT B_OPS_PER_SEC`. Included once by recorder.c.
#include <sched.h>

static volatile int c_stop;
static const char *c_mode;

static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  sched_setaffinity(0, sizeof s, &s);
}

static void *background(void *arg) {
  unsigned long long *ops = arg;
  pin(1);
  const size_t R = 64 << 20;
  char *region = map_anon(R, MAP_NORESERVE);
  madvise(region, R, MADV_NOHUGEPAGE);
  size_t at = 0;
  int ufd = -1, ro = 0;
  char *heap = NULL;
  if (!strcmp(c_mode, "zeropage")) {
    heap = map_anon(2 << 20, 0);
    ufd = uffd_setup(heap, 2 << 20, UFFD_FEATURE_SIGBUS);
  }
  while (!c_stop) {
    char *a = region + at;
    if (!strcmp(c_mode, "idle")) { usleep(1000); continue; }
    if (!strcmp(c_mode, "touch")) { *a = 1; at = (at + 4096) % R; if (!(at % (2 << 20))) madvise(region + (at ? at : R) - (2 << 20), 2 << 20, MADV_DONTNEED); }
    else if (!strcmp(c_mode, "brk")) { sbrk(4096); sbrk(-4096); }
    else if (!strcmp(c_mode, "mmap")) { munmap(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 4096); }
    else if (!strcmp(c_mode, "mmaptouch")) { char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); *p = 1; munmap(p, 4096); }
    else if (!strcmp(c_mode, "mprotect")) { ro = !ro; mprotect(region + 4096, 4096, ro ? PROT_READ : PROT_READ | PROT_WRITE); }
    else if (!strcmp(c_mode, "dontneed0")) { madvise(a, 4096, MADV_DONTNEED); at = (at + 4096) % R; }
    else if (!strcmp(c_mode, "dontneed64")) { for (int i = 0; i < 64; i++) a[i * 4096] = 1; madvise(a, 64 * 4096, MADV_DONTNEED); at = (at + 64 * 4096) % R; }
    else if (!strcmp(c_mode, "dontneed")) { *a = 1; madvise(a, 4096, MADV_DONTNEED); at = (at + 4096) % R; }
    else if (!strcmp(c_mode, "zeropage")) { struct uffdio_zeropage z = {.range = {(uintptr_t)heap, 4096}}; ioctl(ufd, UFFDIO_ZEROPAGE, &z); madvise(heap, 4096, MADV_DONTNEED); }
    (*ops)++;
  }
  return NULL;
}

static int contention_main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: recorder --contention MODE [SECONDS]\n"); return 2; }
  c_mode = argv[1];
  double seconds = argc > 2 ? atof(argv[2]) : 1.5;
  unsigned long long ops = 0;
  pthread_t b;
  pthread_create(&b, NULL, background, &ops);
  pin(0);
  char *mine = map_anon(2 << 20, 0);
  madvise(mine, 2 << 20, MADV_NOHUGEPAGE);
  unsigned long long faults = 0;
  double t0 = now_ns(), end = t0 + seconds * 1e9;
  while (now_ns() < end) {
    for (int i = 0; i < 512; i++) mine[i * 4096] = 1;
    faults += 512;
    madvise(mine, 2 << 20, MADV_DONTNEED);
  }
  double t = now_ns() - t0;
  c_stop = 1;
  pthread_join(b, NULL);
  printf("%s %.0f %.0f\n", c_mode, t / faults, ops / (t / 1e9));
  return 0;
}
