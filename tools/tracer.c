// The project's malloc tracer: preloaded into a program (LD_PRELOAD), it writes every
// malloc-family call as a line of malloc-trace v1 (../shared/traces/FORMAT.md) to
// $UFFD_TRACE_OUT. `uffd-malloc record` builds it, runs the program, and gzips the result with its
// header lines and statistics.
//
//   cc -O2 -shared -fPIC -o tools/bin/tracer.so tools/tracer.c -ldl -lpthread
//
// IDs are dense and reused (a pointer -> ID table in memory of its own, never malloc's); a
// thread's calls follow a `t` line with its dense number; frees of pointers the tracer never saw
// (allocated before it started) are dropped, reallocs of them written as `a`. One process is
// traced: not its children (forked or exec'd: their calls would interleave with its own); when it
// execs another image (a wrapper script exec'ing the real program), the new image's trace
// replaces the old one's.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static void *(*real_memalign)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_valloc)(size_t);

static int out_fd = -1;
static volatile int enabled;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int in_tracer;
static __thread int my_tid = -1;
static int next_tid, last_tid = -1;

// dlsym may allocate before the real functions are known: a small static arena serves it
static char boot[1 << 16];
static size_t boot_used;
static int is_boot(void *p) { return (char *)p >= boot && (char *)p < boot + sizeof boot; }
static void *boot_alloc(size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (boot_used + n > sizeof boot) return NULL;
  void *p = boot + boot_used;
  boot_used += n;
  return p;
}

// ---- output: a buffer of its own, written with write(2) ----
static char buf[1 << 16];
static size_t buf_len;
static void flush(void) {
  size_t off = 0;
  while (off < buf_len) {
    ssize_t w = write(out_fd, buf + off, buf_len - off);
    if (w <= 0) { if (errno == EINTR) continue; break; }
    off += (size_t)w;
  }
  buf_len = 0;
}
static void put(const char *s) {
  size_t n = strlen(s);
  if (buf_len + n > sizeof buf) flush();
  memcpy(buf + buf_len, s, n);
  buf_len += n;
}
static void put_u(uint64_t v) {
  char t[24];
  int i = sizeof t - 1;
  t[i] = 0;
  do t[--i] = '0' + v % 10; while ((v /= 10));
  put(t + i);
}

// ---- pointer -> dense ID: open addressing over mmap'd memory ----
struct entry { uintptr_t key; uint32_t id; };
static struct entry *table;
static size_t cap, count;
static uint32_t *free_ids;
static size_t free_n, free_cap;
static uint32_t next_id;
#define TOMB ((uintptr_t)1)

static void *map(size_t n) {
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}
static size_t slot_of(uintptr_t k) { return (size_t)((k >> 4) * 0x9E3779B97F4A7C15ULL) & (cap - 1); }
static void insert_raw(uintptr_t k, uint32_t id) {
  size_t i = slot_of(k);
  while (table[i].key > TOMB) i = (i + 1) & (cap - 1);
  table[i] = (struct entry){k, id};
}
static void grow_table(void) {
  struct entry *old = table;
  size_t oldcap = cap;
  cap = cap ? cap * 2 : 1 << 16;
  table = map(cap * sizeof *table);
  for (size_t i = 0; i < oldcap; i++) if (old[i].key > TOMB) insert_raw(old[i].key, old[i].id);
  if (old) munmap(old, oldcap * sizeof *old);
}
static uint32_t new_id(void *p) {
  if ((count + 1) * 2 > cap) grow_table();
  uint32_t id = free_n ? free_ids[--free_n] : next_id++;
  insert_raw((uintptr_t)p, id);
  count++;
  return id;
}
/** The ID of p, removed from the table; -1 when p was not seen. */
static int64_t take_id(void *p) {
  if (!cap) return -1;
  size_t i = slot_of((uintptr_t)p);
  while (table[i].key) {
    if (table[i].key == (uintptr_t)p) {
      uint32_t id = table[i].id;
      table[i].key = TOMB;
      count--;
      if (free_n == free_cap) {
        size_t c = free_cap ? free_cap * 2 : 1 << 12;
        uint32_t *f = map(c * sizeof *f);
        if (free_ids) { memcpy(f, free_ids, free_n * sizeof *f); munmap(free_ids, free_cap * sizeof *f); }
        free_ids = f;
        free_cap = c;
      }
      free_ids[free_n++] = id;
      return id;
    }
    i = (i + 1) & (cap - 1);
  }
  return -1;
}

// ---- events ----
static int begin(void) {
  if (!enabled || in_tracer) return 0;
  in_tracer = 1;
  pthread_mutex_lock(&lock);
  if (my_tid < 0) my_tid = next_tid++;
  if (my_tid != last_tid) {
    put("t ");
    put_u((uint64_t)my_tid);
    put("\n");
    last_tid = my_tid;
  }
  return 1;
}
static void end(void) {
  pthread_mutex_unlock(&lock);
  in_tracer = 0;
}
static void alloc_line(char kind, void *p, uint64_t a, uint64_t b, int two) {
  char k[3] = {kind, ' ', 0};
  put(k);
  put_u(new_id(p));
  put(" ");
  put_u(a);
  if (two) { put(" "); put_u(b); }
  put("\n");
}

static void on_fork_child(void) {
  enabled = 0; // the child's calls would interleave with the parent's: it is not traced
  out_fd = -1;
}

static void at_exit_flush(void) {
  if (!enabled) return;
  pthread_mutex_lock(&lock);
  flush();
  enabled = 0;
  pthread_mutex_unlock(&lock);
}

__attribute__((constructor)) static void init(void) {
  in_tracer = 1;
  real_malloc = dlsym(RTLD_NEXT, "malloc");
  real_calloc = dlsym(RTLD_NEXT, "calloc");
  real_realloc = dlsym(RTLD_NEXT, "realloc");
  real_free = dlsym(RTLD_NEXT, "free");
  real_memalign = dlsym(RTLD_NEXT, "memalign");
  real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
  real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
  real_valloc = dlsym(RTLD_NEXT, "valloc");
  const char *path = getenv("UFFD_TRACE_OUT");
  // One process is traced: the first that loads the tracer notes its pid for the images it execs
  // (a wrapper such as a pyenv shim or a shell script exec'ing the real program: the trace is
  // the last image's, started afresh), while children, forked or exec'd, see another pid.
  const char *owner = getenv("UFFD_TRACE_PID");
  char pid[24];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  if (owner && strcmp(owner, pid)) path = NULL;
  else setenv("UFFD_TRACE_PID", pid, 1);
  if (path) {
    out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd >= 0) {
      put("# malloc-trace v1\n");
      pthread_atfork(NULL, NULL, on_fork_child);
      atexit(at_exit_flush);
      enabled = 1;
    }
  }
  in_tracer = 0;
}

__attribute__((destructor)) static void fini(void) { at_exit_flush(); }

void *malloc(size_t n) {
  if (!real_malloc) return boot_alloc(n);
  void *p = real_malloc(n);
  if (p && begin()) { alloc_line('a', p, n, 0, 0); end(); }
  return p;
}

void *calloc(size_t m, size_t n) {
  if (!real_calloc) { void *p = boot_alloc(m * n); if (p) memset(p, 0, m * n); return p; }
  void *p = real_calloc(m, n);
  if (p && begin()) { alloc_line('c', p, m, n, 1); end(); }
  return p;
}

void free(void *p) {
  if (!p || is_boot(p)) return;
  if (begin()) {
    int64_t id = take_id(p);
    if (id >= 0) { put("f "); put_u((uint64_t)id); put("\n"); }
    end();
  }
  real_free(p);
}

void *realloc(void *p, size_t n) {
  if (is_boot(p)) {
    void *q = malloc(n);
    if (q) memcpy(q, p, n);
    return q;
  }
  if (!p) return malloc(n);
  void *q = real_realloc(p, n);
  if (!begin()) return q;
  if (n == 0 && !q) {
    // glibc's realloc(p, 0) frees p
    int64_t id = take_id(p);
    if (id >= 0) { put("f "); put_u((uint64_t)id); put("\n"); }
  } else if (q) {
    int64_t id = take_id(p);
    if (id < 0) alloc_line('a', q, n, 0, 0);
    else {
      // the object keeps its ID (FORMAT.md: NEW = OLD)
      if ((count + 1) * 2 > cap) grow_table();
      insert_raw((uintptr_t)q, (uint32_t)id);
      count++;
      free_n--; // take_id released it: take it back
      put("r "); put_u((uint64_t)id); put(" "); put_u((uint64_t)id); put(" "); put_u(n); put("\n");
    }
  }
  end();
  return q;
}

static void *aligned_line(void *p, size_t align, size_t n) {
  if (p && begin()) { alloc_line('m', p, align, n, 1); end(); }
  return p;
}

void *memalign(size_t align, size_t n) { return aligned_line(real_memalign(align, n), align, n); }
void *aligned_alloc(size_t align, size_t n) { return aligned_line(real_aligned_alloc(align, n), align, n); }
void *valloc(size_t n) { return aligned_line(real_valloc(n), 4096, n); }
int posix_memalign(void **out, size_t align, size_t n) {
  int r = real_posix_memalign(out, align, n);
  if (r == 0) aligned_line(*out, align, n);
  return r;
}
