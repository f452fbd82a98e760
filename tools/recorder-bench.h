// `recorder --bench [NAME...]`: what the operations the simulator's benchmarks time cost on this
// kernel, as `NAME NS_PER_OP` lines (median of 5 runs). Included once by recorder.c.

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static char *map_anon(size_t len, int extra) {
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);
  if (p == MAP_FAILED) { perror("mmap"); exit(1); }
  return p;
}

/** 4 KiB anonymous write faults (NOHUGEPAGE), 4096 of them. */
static double b_write_fault(void) {
  size_t n = 4096;
  char *p = map_anon(n * 4096, 0);
  madvise(p, n * 4096, MADV_NOHUGEPAGE);
  double t = now_ns();
  for (size_t i = 0; i < n; i++) p[i * 4096] = 1;
  t = now_ns() - t;
  munmap(p, n * 4096);
  return t / n;
}

/** mmap + munmap of 4 KiB while 10,000 other VMAs exist. */
static double b_mmap_munmap(void) {
  size_t n = 10000;
  char *base = map_anon(2 * n * 4096, MAP_NORESERVE);
  for (size_t i = 0; i < n; i++) mprotect(base + 2 * i * 4096, 4096, PROT_READ);  // 2n alternating VMAs
  int reps = 2000;
  double t = now_ns();
  for (int i = 0; i < reps; i++) {
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p, 4096);
  }
  t = now_ns() - t;
  munmap(base, 2 * n * 4096);
  return t / reps;
}

/** MADV_DONTNEED of a 2 MiB range populated with 512 small pages. */
static double b_dontneed_2m(void) {
  size_t len = 2 << 20;
  char *p = map_anon(len, 0);
  madvise(p, len, MADV_NOHUGEPAGE);
  double total = 0;
  int reps = 50;
  for (int r = 0; r < reps; r++) {
    for (size_t i = 0; i < len; i += 4096) p[i] = 1;
    double t = now_ns();
    madvise(p, len, MADV_DONTNEED);
    total += now_ns() - t;
  }
  munmap(p, len);
  return total / reps;
}

static int uffd_setup(char *p, size_t len, unsigned long long features) {
  int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  struct uffdio_api api = {.api = UFFD_API, .features = features};
  struct uffdio_register r = {.range = {(uintptr_t)p, len}, .mode = UFFDIO_REGISTER_MODE_MISSING};
  if (fd < 0 || ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &r)) return -1;
  return fd;
}

/** UFFDIO_ZEROPAGE of 4 KiB in a registered range, then DONTNEED to re-arm (only the ioctl timed). */
static double b_uffd_zeropage(void) {
  size_t n = 4096, len = n * 4096;
  char *p = map_anon(len, MAP_NORESERVE);
  int fd = uffd_setup(p, len, UFFD_FEATURE_SIGBUS);
  if (fd < 0) return -1;
  double t = now_ns();
  for (size_t i = 0; i < n; i++) {
    struct uffdio_zeropage z = {.range = {(uintptr_t)p + i * 4096, 4096}};
    ioctl(fd, UFFDIO_ZEROPAGE, &z);
  }
  t = now_ns() - t;
  close(fd);
  munmap(p, len);
  return t / n;
}

/** The write fault that copies a zero page (do_wp_page): pages mapped by UFFDIO_ZEROPAGE, then written. */
static double b_cow_zero(void) {
  size_t n = 4096, len = n * 4096;
  char *p = map_anon(len, MAP_NORESERVE);
  madvise(p, len, MADV_NOHUGEPAGE);
  int fd = uffd_setup(p, len, UFFD_FEATURE_SIGBUS);
  if (fd < 0) return -1;
  struct uffdio_zeropage z = {.range = {(uintptr_t)p, len}};
  ioctl(fd, UFFDIO_ZEROPAGE, &z);
  double t = now_ns();
  for (size_t i = 0; i < n; i++) p[i * 4096] = 1;
  t = now_ns() - t;
  close(fd);
  munmap(p, len);
  return t / n;
}

/**
 * MADV_DONTNEED of one 4 KiB page, 4095 times over a 16 MiB mapping whose first page is written
 * (so the PTE table exists): every page populated (the zap and the flush included), or
 * `populated` = 0, none but the first (the call alone).
 */
static double dontneed_pages(int populated) {
  size_t n = 4096, len = n * 4096;
  char *p = map_anon(len, 0);
  madvise(p, len, MADV_NOHUGEPAGE);
  for (size_t i = 0; i < (populated ? len : 1); i += 4096) p[i] = 1;
  double t = now_ns();
  for (size_t i = 1; i < n; i++) madvise(p + i * 4096, 4096, MADV_DONTNEED);
  t = now_ns() - t;
  munmap(p, len);
  return t / (n - 1);
}
static double b_dontneed_4k(void) { return dontneed_pages(1); }
static double b_dontneed_empty(void) { return dontneed_pages(0); }

/**
 * mremap of `pages` populated pages into a fresh PROT_NONE reservation (MREMAP_MAYMOVE |
 * MREMAP_FIXED, one page in), 256 times, the pages written again between moves, as an allocator
 * that reallocates by mremap into guard-paged regions does: every PTE moves one by one (the
 * destination is never 2 MiB away). Only the mremap is timed.
 */
static double mremap_pages(size_t pages) {
  size_t len = pages * 4096;
  char *p = map_anon(len, 0);
  memset(p, 0xa5, len);
  int reps = 256;
  double t = 0;
  for (int i = 0; i < reps; i++) {
    char *n = mmap(NULL, len + 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    double t0 = now_ns();
    p = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, n + 4096);
    t += now_ns() - t0;
    munmap(n, 4096);
    munmap(n + 4096 + len, 4096);
    memset(p, 0xa5, len);
  }
  munmap(p, len);
  return t / reps;
}
static double b_mremap_4k(void) { return mremap_pages(1); }
static double b_mremap_32x4k(void) { return mremap_pages(32); }

/** mprotect of one page back and forth in a 2-page mapping (a split and a merge each time). */
static double b_mprotect(void) {
  int reps = 4096;
  char *p = map_anon(2 * 4096, 0);
  double t = now_ns();
  for (int i = 0; i < reps; i++) mprotect(p, 4096, i & 1 ? PROT_READ | PROT_WRITE : PROT_READ);
  t = now_ns() - t;
  munmap(p, 2 * 4096);
  return t / reps;
}

/**
 * UFFDIO_COPY of 4 KiB into 4096 pages of a registered range, one ioctl each: the ioctls timed
 * (`touch` = 0), or, with `touch`, the first write to each page afterwards (no page fault: the
 * PTE is there, but a shadow-paging hypervisor traps the first access).
 */
static double uffd_copy_pages(int touch) {
  size_t n = 4096, len = n * 4096;
  char *p = map_anon(len, MAP_NORESERVE);
  int fd = uffd_setup(p, len, UFFD_FEATURE_SIGBUS);
  if (fd < 0) return -1;
  memset(page_buf, 7, 4096);
  double t = now_ns();
  for (size_t i = 0; i < n; i++) {
    struct uffdio_copy c = {.dst = (uintptr_t)p + i * 4096, .src = (uintptr_t)page_buf, .len = 4096};
    ioctl(fd, UFFDIO_COPY, &c);
  }
  if (touch) {
    t = now_ns();
    for (size_t i = 0; i < n; i++) p[i * 4096] = 1;
  }
  t = now_ns() - t;
  close(fd);
  munmap(p, len);
  return t / n;
}
static double b_uffd_copy(void) { return uffd_copy_pages(0); }
static double b_uffd_copy_touch(void) { return uffd_copy_pages(1); }

/**
 * UFFDIO_MOVE back and forth of one populated 4 KiB page (kind 0), one 2 MiB THP (kind 1) or
 * 2 MiB of small pages in one ioctl (kind 2, per page: the kernel flushes such a batch once).
 */
static double b_uffd_move(int kind) {
  int huge = kind == 1;
  size_t unit = kind ? (2 << 20) : 4096, len = 2 * unit + (2 << 20);
  char *raw = map_anon(len, 0);
  char *p = (char *)(((uintptr_t)raw + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
  madvise(p, 2 * unit, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  memset(p, 1, unit);
  int fd = uffd_setup(p, 2 * unit, UFFD_FEATURE_SIGBUS | FEAT_MOVE);
  if (fd < 0) return -1;
  int reps = kind ? 200 : 4000;
  double t = now_ns();
  for (int i = 0; i < reps; i++) {
    char *from = p + (i & 1) * unit, *to = p + !(i & 1) * unit;
    struct move_arg m = {.dst = (uintptr_t)to, .src = (uintptr_t)from, .len = unit};
    if (ioctl(fd, IOCTL_MOVE, &m)) { perror("UFFDIO_MOVE"); return -1; }
  }
  t = now_ns() - t;
  close(fd);
  munmap(raw, len);
  return t / reps / (kind == 2 ? 512 : 1);
}
static double b_uffd_move_4k(void) { return b_uffd_move(0); }
static double b_uffd_move_2m(void) { return b_uffd_move(1); }
static double b_uffd_move_batch(void) { return b_uffd_move(2); }

/** A read of a missing page in a sigbus range: SIGBUS, handler, siglongjmp back. */
static double b_sigbus(void) {
  size_t len = 4096;
  char *p = map_anon(len, 0);
  int fd = uffd_setup(p, len, UFFD_FEATURE_SIGBUS);
  if (fd < 0) return -1;
  struct sigaction sa = {.sa_sigaction = on_fault_signal, .sa_flags = SA_SIGINFO | SA_NODEFER};
  sigaction(SIGBUS, &sa, NULL);
  int reps = 4000;
  volatile int i = 0;
  double t = now_ns();
  for (; i < reps; i++) {
    if (sigsetjmp(escape, 1) == 0) (void)*(volatile char *)p;
  }
  t = now_ns() - t;
  close(fd);
  munmap(p, len);
  return t / reps;
}


/**
 * One 4 KiB page alone in its 2 MiB block: the write fault that allocates its PTE table
 * (`fault` = 1) or the munmap that zaps it and frees the table (free_pgtables, `fault` = 0); with
 * `neighbour` another page keeps the table (the munmap then only zaps and flushes).
 */
static double b_lone_page(int fault, int neighbour) {
  int m = 512;
  size_t block = 2 << 20;
  char *raw = map_anon((size_t)(m + 1) * block, MAP_NORESERVE);
  char *h = (char *)(((uintptr_t)raw + block - 1) & ~(uintptr_t)(block - 1));
  munmap(raw, (size_t)(m + 1) * block);
  double total = 0;
  for (int i = 0; i < m; i++) {
    char *b = h + (size_t)i * block;
    if (neighbour) {
      char *q = mmap(b + block / 2, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      q[0] = 1;
    }
    char *p = mmap(b, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    double t0 = now_ns();
    p[0] = 1;
    double t1 = now_ns();
    munmap(p, 4096);
    double t2 = now_ns();
    total += fault ? t1 - t0 : t2 - t1;
  }
  munmap(h, (size_t)m * block);
  return total / m;
}
static double b_pte_alloc_fault(void) { return b_lone_page(1, 0); }
static double b_munmap_pte_free(void) { return b_lone_page(0, 0); }
static double b_munmap_populated(void) { return b_lone_page(0, 1); }

static const struct { const char *name; double (*fn)(void); } BENCHES[] = {
    {"write-fault-4k", b_write_fault},   {"mmap-munmap-4k-10k-vmas", b_mmap_munmap},
    {"dontneed-2m", b_dontneed_2m},      {"uffd-zeropage-4k", b_uffd_zeropage},
    {"uffd-copy-4k", b_uffd_copy},       {"uffd-move-4k", b_uffd_move_4k},
    {"uffd-move-2m-thp", b_uffd_move_2m}, {"sigbus-roundtrip", b_sigbus}, {"cow-zero-4k", b_cow_zero},
    {"dontneed-4k", b_dontneed_4k}, {"mprotect-4k", b_mprotect}, {"dontneed-empty-4k", b_dontneed_empty},
    {"pte-alloc-fault-4k", b_pte_alloc_fault}, {"munmap-pte-free-4k", b_munmap_pte_free},
    {"munmap-populated-4k", b_munmap_populated}, {"uffd-copy-touch-4k", b_uffd_copy_touch},
    {"uffd-move-512x4k", b_uffd_move_batch}, {"mremap-4k", b_mremap_4k}, {"mremap-32x4k", b_mremap_32x4k}};

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int bench_main(int argc, char **argv) {
  for (size_t i = 0; i < sizeof BENCHES / sizeof BENCHES[0]; i++) {
    int want = argc <= 1;
    for (int a = 1; a < argc; a++) if (!strcmp(argv[a], BENCHES[i].name)) want = 1;
    if (!want) continue;
    double runs[5];
    for (int r = 0; r < 5; r++) runs[r] = BENCHES[i].fn();
    qsort(runs, 5, sizeof runs[0], cmp_double);
    printf("%s %.0f\n", BENCHES[i].name, runs[2]);
  }
  return 0;
}
