// The recorder's operations, one branch each; included once by recorder.c.

static const struct { const char *name; int advice; } ADVICE[] = {
    {"dontneed", MADV_DONTNEED}, {"free", MADV_FREE}, {"hugepage", MADV_HUGEPAGE},
    {"nohugepage", MADV_NOHUGEPAGE}, {"collapse", ADV_COLLAPSE}, {"guard_install", ADV_GUARD_INSTALL},
    {"guard_remove", ADV_GUARD_REMOVE}, {"populate_read", ADV_POPULATE_READ},
    {"populate_write", ADV_POPULATE_WRITE}, {"remove", MADV_REMOVE}, {"willneed", MADV_WILLNEED},
    // advice that only changes VmFlags (beyond the shared runner's list)
    {"normal", MADV_NORMAL}, {"random", MADV_RANDOM}, {"sequential", MADV_SEQUENTIAL},
    {"dontfork", MADV_DONTFORK}, {"dofork", MADV_DOFORK}, {"dontdump", MADV_DONTDUMP},
    {"dodump", MADV_DODUMP}, {"wipeonfork", MADV_WIPEONFORK}, {"keeponfork", MADV_KEEPONFORK},
    {"mergeable", MADV_MERGEABLE}, {"unmergeable", MADV_UNMERGEABLE}, {"cold", MADV_COLD},
    {"pageout", MADV_PAGEOUT}};

static const struct { const char *name; unsigned long long bit; } FEATURES[] = {
    {"pagefault_flag_wp", UFFD_FEATURE_PAGEFAULT_FLAG_WP}, {"event_fork", UFFD_FEATURE_EVENT_FORK},
    {"event_remap", UFFD_FEATURE_EVENT_REMAP}, {"event_remove", UFFD_FEATURE_EVENT_REMOVE},
    {"missing_hugetlbfs", UFFD_FEATURE_MISSING_HUGETLBFS}, {"missing_shmem", UFFD_FEATURE_MISSING_SHMEM},
    {"event_unmap", UFFD_FEATURE_EVENT_UNMAP}, {"sigbus", UFFD_FEATURE_SIGBUS},
    {"thread_id", UFFD_FEATURE_THREAD_ID}, {"minor_hugetlbfs", UFFD_FEATURE_MINOR_HUGETLBFS},
    {"minor_shmem", UFFD_FEATURE_MINOR_SHMEM}, {"exact_address", UFFD_FEATURE_EXACT_ADDRESS},
    {"wp_hugetlbfs_shmem", UFFD_FEATURE_WP_HUGETLBFS_SHMEM}, {"wp_unpopulated", FEAT_WP_UNPOPULATED},
    {"poison", FEAT_POISON}, {"wp_async", FEAT_WP_ASYNC}, {"move", FEAT_MOVE}};

static const char *argn(char **tok, int nt, int i) { return i < nt ? tok[i] : ""; }
#define ARG(i) argn(tok, nt, i)
#define AT(i) (arena + num(ARG(i)))

/** Print " ok"/" err E" and the progress field of a uffd ioctl. */
static void ioctl_result(long r, const char *field, long long v) {
  if (r) printf(" err %s %s=%lld", ename(errno), field, v);
  else printf(" ok %s=%lld", field, v);
}

/** User-mode loads and stores, with SIGSEGV/SIGBUS caught and reported. */
static void access_op(char **tok, int nt) {
  volatile char *p = AT(1);
  // the handlers run with SA_NODEFER and an empty sa_mask, so the signal mask never changes and
  // need not be saved: no rt_sigprocmask call in every timed access
  if (sigsetjmp(escape, 0) == 0) {
    unsigned char v = 0;
    if (!strcmp(tok[0], "read")) v = *p;
    else if (!strcmp(tok[0], "write")) *p = (char)num(ARG(2));
    else {
      // page by page in address order: the first store of a page faults (and may signal) at
      // the byte it would fault at, the rest of the page is a plain memset
      const char b = (char)num(ARG(3));
      for (size_t i = 0, L = num(ARG(2)); i < L;) {
        size_t n = 4096 - ((uintptr_t)(p + i) & 4095);
        if (n > L - i) n = L - i;
        p[i] = b;
        memset((char *)p + i, b, n);
        i += n;
      }
    }
    print_log();
    if (!strcmp(tok[0], "read")) printf(" ok 0x%02x", v); else printf(" ok");
  } else {
    print_log();
    printf(" sig %s +0x%llx", sig_no == SIGBUS ? "SIGBUS" : "SIGSEGV", rel(sig_addr));
  }
}

static void run_op(char **tok, int nt) {
  const char *op = tok[0];
  int inspect = !strcmp(op, "maps") || !strcmp(op, "count") || !strcmp(op, "rss") || !strcmp(op, "locks") || !strcmp(op, "events") || !strcmp(op, "faults");
  if (!inspect) trace_enable(1);
  errno = 0;
  if (!strcmp(op, "mmap")) {
    int fl = (word(tok, nt, "fixed") >= 0 ? MAP_FIXED : MAP_FIXED_NOREPLACE) | (word(tok, nt, "shared") >= 0 ? MAP_SHARED : MAP_PRIVATE);
    if (word(tok, nt, "noreserve") >= 0) fl |= MAP_NORESERVE;
    if (word(tok, nt, "populate") >= 0) fl |= MAP_POPULATE;
    int m = word(tok, nt, "memfd"), fd = m > 0 ? memfd_of(ARG(m + 1)) : -1;
    if (fd < 0) fl |= MAP_ANONYMOUS;
    char *p = mmap(AT(1), num(ARG(2)), prot(ARG(3)), fl, fd, m > 0 ? (off_t)num(ARG(m + 2)) : 0);
    if (p == MAP_FAILED) printf(" err %s", ename(errno)); else printf(" ok +0x%llx", rel((uintptr_t)p));
  } else if (!strcmp(op, "munmap")) {
    ok_or_err(munmap(AT(1), num(ARG(2))));
  } else if (!strcmp(op, "mprotect")) {
    ok_or_err(mprotect(AT(1), num(ARG(2)), prot(ARG(3))));
  } else if (!strcmp(op, "mremap")) {
    int fl = (word(tok, nt, "maymove") >= 0 ? MREMAP_MAYMOVE : 0) | (word(tok, nt, "dontunmap") >= 0 ? MREMAP_DONTUNMAP : 0);
    int f = word(tok, nt, "fixed");
    if (f > 0) fl |= MREMAP_FIXED;
    char *p = mremap(AT(1), num(ARG(2)), num(ARG(3)), fl, f > 0 ? AT(f + 1) : NULL);
    if (p == MAP_FAILED) printf(" err %s", ename(errno));
    else if (p < arena || p >= arena + arena_size) printf(" ok elsewhere");
    else printf(" ok +0x%llx", rel((uintptr_t)p));
  } else if (!strcmp(op, "madvise")) {
    int adv = (int)num(ARG(3));
    for (size_t i = 0; i < sizeof ADVICE / sizeof ADVICE[0]; i++) if (ARG(3) && !strcmp(ARG(3), ADVICE[i].name)) adv = ADVICE[i].advice;
    ok_or_err(madvise(AT(1), num(ARG(2)), adv));
  } else if (!strcmp(op, "memfd")) {
    int fd = memfd_create(ARG(1), MFD_CLOEXEC | (word(tok, nt, "hugetlb") >= 0 ? MFD_HUGETLB : 0));
    if (fd < 0 || ftruncate(fd, num(ARG(2)))) { printf(" err %s", ename(errno)); }
    else {
      for (int i = 0; i < 8; i++) if (!files[i].fd) { files[i].fd = fd; snprintf(files[i].name, 32, "%s", ARG(1)); break; }
      printf(" ok");
    }
  } else if (!strcmp(op, "punch")) {
    ok_or_err(fallocate(memfd_of(ARG(1)), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, num(ARG(2)), num(ARG(3))));
  } else if (!strcmp(op, "pwrite")) {
    /* one pwrite(2) of LEN bytes of BYTE: a buffer at a time, as much as one call writes
       (MAX_RW_COUNT); a negative LEN goes to the kernel as the huge size_t it is */
    long len = (long)num(ARG(3)), off = (long)num(ARG(2)), r = 0;
    const long max_rw = 0x7ffff000;
    memset(page_buf, (int)num(ARG(4)), len > 0 && len < (long)sizeof page_buf ? len : (long)sizeof page_buf);
    if (len < 0) r = syscall(SYS_pwrite64, memfd_of(ARG(1)), page_buf, (size_t)len, off);
    if (len > max_rw) len = max_rw;
    while (r >= 0 && r < len) {
      long n = len - r < (long)sizeof page_buf ? len - r : (long)sizeof page_buf;
      long w = pwrite(memfd_of(ARG(1)), page_buf, n, off + r);
      if (w < 0) { if (r == 0) r = -1; break; }
      r += w;
      if (w < n) break;
    }
    if (r < 0) printf(" err %s", ename(errno)); else printf(" ok %ld", r);
  } else if (!strcmp(op, "uffd")) {
    unsigned long long feat = 0;
    for (int i = 1; i < nt; i++)
      for (size_t j = 0; j < sizeof FEATURES / sizeof FEATURES[0]; j++) if (!strcmp(tok[i], FEATURES[j].name)) feat |= FEATURES[j].bit;
    int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | (word(tok, nt, "user_mode_only") >= 0 ? USER_MODE_ONLY : 0));
    struct uffdio_api api = {.api = UFFD_API, .features = feat};
    if (fd < 0 || ioctl(fd, UFFDIO_API, &api)) printf(" err %s", ename(errno));
    else {
      ufd = fd;
      quiet_uffd = (feat & UFFD_FEATURE_SIGBUS) && !(feat & (UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_EVENT_FORK));
      if (!quiet_uffd) start_monitor();
      printf(" ok");
    }
  } else if (!strcmp(op, "monitor")) {
    start_monitor();
    const char *p = ARG(1);
    mon_policy = !strcmp(p, "zero") ? P_ZERO : !strcmp(p, "copy") ? P_COPY : !strcmp(p, "continue") ? P_CONTINUE : P_NONE;
    mon_byte = (int)num(ARG(2));
    printf(" ok");
  } else if (!strcmp(op, "uffd_register")) {
    struct uffdio_register r = {.range = {(uintptr_t)AT(1), num(ARG(2))}};
    if (word(tok, nt, "missing") >= 0) r.mode |= UFFDIO_REGISTER_MODE_MISSING;
    if (word(tok, nt, "wp") >= 0) r.mode |= UFFDIO_REGISTER_MODE_WP;
    if (word(tok, nt, "minor") >= 0) r.mode |= UFFDIO_REGISTER_MODE_MINOR;
    if (ioctl(ufd, UFFDIO_REGISTER, &r)) printf(" err %s", ename(errno)); else printf(" ok ioctls=0x%llx", (unsigned long long)r.ioctls);
  } else if (!strcmp(op, "uffd_unregister")) {
    struct uffdio_range r = {(uintptr_t)AT(1), num(ARG(2))};
    ok_or_err(ioctl(ufd, UFFDIO_UNREGISTER, &r));
  } else if (!strcmp(op, "uffd_zeropage")) {
    struct uffdio_zeropage z = {.range = {(uintptr_t)AT(1), num(ARG(2))}, .mode = word(tok, nt, "dontwake") >= 0 ? UFFDIO_ZEROPAGE_MODE_DONTWAKE : 0};
    long r = ioctl(ufd, UFFDIO_ZEROPAGE, &z);
    ioctl_result(r, "zeropage", z.zeropage);
  } else if (!strcmp(op, "uffd_copy")) {
    size_t len = num(ARG(2));
    memset(page_buf, (int)num(ARG(3)), len < sizeof page_buf ? len : sizeof page_buf);
    struct uffdio_copy c = {.dst = (uintptr_t)AT(1), .src = (uintptr_t)page_buf, .len = len, .mode = word(tok, nt, "wp") >= 0 ? UFFDIO_COPY_MODE_WP : 0};
    long r = ioctl(ufd, UFFDIO_COPY, &c);
    ioctl_result(r, "copy", c.copy);
  } else if (!strcmp(op, "uffd_move")) {
    struct move_arg m = {.dst = (uintptr_t)AT(1), .src = (uintptr_t)AT(2), .len = num(ARG(3)), .mode = word(tok, nt, "allow_src_holes") >= 0 ? MOVE_ALLOW_SRC_HOLES : 0};
    long r = ioctl(ufd, IOCTL_MOVE, &m);
    ioctl_result(r, "move", m.move);
  } else if (!strcmp(op, "uffd_continue")) {
    struct uffdio_continue c = {.range = {(uintptr_t)AT(1), num(ARG(2))}};
    long r = ioctl(ufd, UFFDIO_CONTINUE, &c);
    ioctl_result(r, "mapped", c.mapped);
  } else if (!strcmp(op, "uffd_wp")) {
    struct uffdio_writeprotect w = {.range = {(uintptr_t)AT(1), num(ARG(2))}, .mode = ARG(3) && !strcmp(ARG(3), "on") ? UFFDIO_WRITEPROTECT_MODE_WP : 0};
    ok_or_err(ioctl(ufd, UFFDIO_WRITEPROTECT, &w));
  } else if (!strcmp(op, "uffd_poison")) {
    struct poison_arg p = {.range = {(uintptr_t)AT(1), num(ARG(2))}};
    long r = ioctl(ufd, IOCTL_POISON, &p);
    ioctl_result(r, "updated", p.updated);
  } else if (!strcmp(op, "read") || !strcmp(op, "write") || !strcmp(op, "fill")) {
    access_op(tok, nt);
  } else if (!strcmp(op, "kread") || !strcmp(op, "kwrite")) {
    long r;
    int e;
    if (!strcmp(op, "kread")) { r = pwrite(sink, AT(1), num(ARG(2)), 0); e = errno; }
    else { int z = open("/dev/zero", O_RDONLY); r = read(z, AT(1), num(ARG(2))); e = errno; close(z); }
    print_log();
    if (r < 0) printf(" err %s", ename(e)); else printf(" ok %ld", r);
  } else if (!strcmp(op, "maps")) {
    print_log();
    printf(" ok");
    smaps(0);
  } else if (!strcmp(op, "count")) {
    printf(" ok");
    smaps(1);
  } else if (!strcmp(op, "rss")) {
    printf(" ok");
    smaps(2);
  } else if (!strcmp(op, "events")) {
    print_log();
    printf(" ok");
  } else if (!strcmp(op, "locks")) {
    trace_print();
  } else if (!strcmp(op, "faults")) {
    faults_print();
  } else {
    printf(" err unknown-op");
  }
  trace_enable(0);
}
