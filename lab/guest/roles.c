/* The lab's workload roles: each is exec'd by the harness with argv[0] set to the role name,
 * so /proc/PID/comm and cmdline show what it is to every contender. */
#define _GNU_SOURCE /* clone, memfd_create */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

#define KIB 1024L
#define CHUNK (1024 * KIB)

uint64_t NowUs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void SleepUs(uint64_t us) {
  struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

struct LabShared* MapShared(int fd) {
  void* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? NULL : (struct LabShared*)p;
}

static long PageSize(void) { return sysconf(_SC_PAGESIZE); }

static void Touch(char* p, long len) {
  long ps = PageSize();
  for (long off = 0; off < len; off += ps) p[off] = (char)(off + 1);
}

/* Grows by 1 MiB chunks at rate_kib per second (0: as fast as it can) up to limit_kib, every
 * page written, never freed; then holds the memory, re-touching it. */
static void Grow(long rate_kib, long limit_kib) {
  uint64_t start = NowUs();
  long have = 0;
  while (have < limit_kib) {
    char* p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      SleepUs(10000);
      continue;
    }
    Touch(p, CHUNK);
    have += CHUNK / KIB;
    if (rate_kib > 0) {
      uint64_t due = start + (uint64_t)((double)have / (double)rate_kib * 1e6);
      uint64_t now = NowUs();
      if (due > now) SleepUs(due - now);
    }
  }
  for (;;) pause();
}

/* Holds kib of anon memory and keeps it hot: a small process a user would not want killed. */
static int Worker(long kib) {
  char* p =
      mmap(NULL, (size_t)kib * KIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  for (;;) {
    Touch(p, kib * KIB);
    SleepUs(200000);
  }
}

/* Reads every page of a file through a shared mapping, over and over: a file-backed working
 * set that thrashes once anonymous memory crowds it out. */
static int Reader(const char* path) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return 1;
  volatile char* p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return 1;
  long ps = PageSize();
  unsigned sum = 0;
  for (;;) {
    for (long off = 0; off < st.st_size; off += ps) {
      sum += (unsigned char)p[off];
      if ((off / ps) % 1024 == 1023) SleepUs(2000);
    }
  }
  return (int)sum;
}

/* Writes a file of kib sequentially, then reads it back, forever: page cache churn that
 * leaves MemAvailable high because the cache is reclaimable. */
static int Churn(const char* path, long kib) {
  static char buf[CHUNK];
  memset(buf, 0x5a, sizeof buf);
  for (;;) {
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return 1;
    for (long done = 0; done < kib; done += CHUNK / KIB) {
      if (write(fd, buf, CHUNK) != CHUNK) break;
    }
    for (int pass = 0; pass < 2; ++pass) {
      lseek(fd, 0, SEEK_SET);
      while (read(fd, buf, CHUNK) > 0) {
      }
    }
    close(fd);
  }
}

struct CloneArgs {
  const char* path;
  int index;
};

/* A CLONE_VM child (not a thread): shares the hog's mm and keeps doing small reads, the
 * shape of Tetsuo Handa's reproducer. Only raw syscalls: it shares the parent's TLS. */
static int CloneChild(void* arg) {
  const struct CloneArgs* a = arg;
  int fd = (int)syscall(SYS_open, a->path, O_RDONLY);
  char buf[4096];
  unsigned long off = (unsigned long)a->index * 7919u * 4096u;
  for (;;) {
    if (fd >= 0) syscall(SYS_pread64, fd, buf, sizeof buf, (long)(off % (64u << 20)));
    off += 4096u * 977u;
    struct timespec ts = {0, 10 * 1000 * 1000};
    syscall(SYS_nanosleep, &ts, NULL);
  }
  return 0;
}

static int CloneHog(long rate_kib, long limit_kib, int nchild, const char* path,
                    struct LabShared* sh) {
  static struct CloneArgs args[LAB_MAX_CLONE_CHILDREN];
  if (nchild > LAB_MAX_CLONE_CHILDREN) nchild = LAB_MAX_CLONE_CHILDREN;
  for (int i = 0; i < nchild; ++i) {
    size_t stack_size = 64 * 1024;
    char* stack =
        mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED) return 1;
    args[i].path = path;
    args[i].index = i;
    /* SIGCHLD but never waited for: if the hog dies first they are reparented to the
     * harness (a subreaper), which records how they ended. */
    int pid = clone(CloneChild, stack + stack_size, CLONE_VM | SIGCHLD, &args[i]);
    if (pid < 0) return 1;
    if (sh) sh->clone_children[i] = pid;
  }
  if (sh) sh->n_clone_children = nchild;
  Grow(rate_kib, limit_kib);
  return 0;
}

/* Every 10 ms: touch a little fresh memory and read a small file; the longest gap between
 * two rounds is what a user trying to log in would feel. */
static int Probe(const char* path, struct LabShared* sh) {
  int fd = open(path, O_RDONLY);
  if (fd < 0 || !sh) return 1;
  char buf[4096];
  uint64_t prev = NowUs();
  unsigned long off = 0;
  for (;;) {
    char* p = mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      Touch(p, 64 * KIB);
      munmap(p, 64 * KIB);
    }
    if (pread(fd, buf, sizeof buf, (off_t)(off % (1u << 20))) < 0) return 1;
    off += 4096;
    uint64_t now = NowUs();
    uint64_t gap = now - prev;
    prev = now;
    sh->probe_iters++;
    if (gap > sh->probe_max_gap_us) {
      sh->probe_max_gap_us = gap;
      sh->probe_max_gap_at_us = now;
    }
    if (gap > 100000) sh->probe_gaps_over_100ms++;
    if (gap > 1000000) sh->probe_gaps_over_1s++;
    SleepUs(10000); /* so a gap is at least 10 ms: the nominal period */
  }
}

int RoleMain(int argc, char** argv) {
  const char* role = argv[0];
  const char* slash = strrchr(role, '/');
  if (slash) role = slash + 1;
  prctl(PR_SET_NAME, role);
  long a1 = argc > 1 ? atol(argv[1]) : 0;
  long a2 = argc > 2 ? atol(argv[2]) : 0;
  if (strcmp(role, "hog") == 0 || strcmp(role, "leak") == 0 || strcmp(role, "steady") == 0 ||
      strcmp(role, "grower") == 0) {
    Grow(a1, a2);
  } else if (strcmp(role, "termhog") == 0) {
    signal(SIGTERM, SIG_IGN);
    Grow(a1, a2);
  } else if (strcmp(role, "clonehog") == 0 && argc > 5) {
    return CloneHog(a1, a2, atoi(argv[3]), argv[4], MapShared(atoi(argv[5])));
  } else if (strcmp(role, "worker") == 0 || strcmp(role, "bystander") == 0) {
    return Worker(a1);
  } else if (strcmp(role, "reader") == 0 && argc > 1) {
    return Reader(argv[1]);
  } else if (strcmp(role, "churn") == 0 && argc > 2) {
    return Churn(argv[1], a2);
  } else if (strcmp(role, "probe") == 0 && argc > 2) {
    return Probe(argv[1], MapShared(atoi(argv[2])));
  }
  fprintf(stderr, "labtool: unknown role %s\n", role);
  return 64;
}
