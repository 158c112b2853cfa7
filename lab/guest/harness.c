/* The lab's harness: runs one scenario against whatever contender is already running, and
 * records who died, when, how memory and PSI moved, the probe's longest stall and the
 * kernel's own OOM kills. Protected (oom_score_adj -1000, mlocked) so it outlives the run. */
#define _GNU_SOURCE /* clone, memfd_create */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"

/* Where the scenario's cgroups go. The shell-init guest: raw cgroups under a user's service
 * manager. The systemd guest (LAB_SLICE set, e.g. user.slice, and LAB_CG_BASE its cgroup
 * path): each cgroup is a transient scope that `systemd-run --scope --slice=LAB_SLICE` makes,
 * as a host's launchers do, so systemd-oomd's ManagedOOM* settings on the slice apply. */
static const char* cg_base = "/sys/fs/cgroup/user.slice/user-0.slice/user@0.service";
static const char* sd_slice;
#define MAX_PROCS 64
#define MAX_SAMPLES 4096
#define SAMPLE_US 100000

struct Proc {
  int pid;
  char role[16];
  char cgroup[32];
  int intended; /* killing it is the right answer */
  uint64_t start_us, end_us;
  int status; /* waitpid status; valid when end_us != 0 */
  int kernel_oom;
  int alive_at_end; /* still running when the run ended: the harness killed it */
};

struct Sample {
  uint32_t t_ms;
  uint32_t avail_kb, free_kb;
  float some10, full10;
  uint64_t some_us, full_us;
  uint32_t cg_kb[2];
  int32_t daemon_ticks, loop_ticks; /* the daemon's CPU (every thread, its loop thread), -1 unread */
  int32_t daemon_minflt, daemon_majflt; /* the daemon's page faults (every thread), -1 unread */
  int32_t loop_wakeups; /* its loop thread's voluntary context switches (sleeps), -1 unread */
  uint64_t io_some_us, io_full_us; /* /proc/pressure/io's totals (session 18 on) */
  int32_t probe_majflt; /* the probe's major faults: its file's pages read back, -1 unread */
};

static struct Proc procs[MAX_PROCS];
static int nprocs;
static struct Sample samples[MAX_SAMPLES];
static volatile int nsamples;
static volatile int stop_sampler;
static int sampled_daemon; /* its CPU over the run, per sample: where a run's CPU went */
static volatile int sampled_probe; /* its major faults, per sample: a stall that is I/O */
static uint64_t t0_us;
static const char* sampled_cg[2];
static struct LabShared* shared;
static int shared_fd;
static char self_exe[256];
static char made_cg[8][32];
static int nmade_cg;

long ReadSmallFile(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return n;
}

int WriteString(const char* path, const char* value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long n = write(fd, value, strlen(value));
  close(fd);
  return n == (long)strlen(value) ? 0 : -1;
}

long MemInfoKb(const char* text, const char* key) {
  const char* p = strstr(text, key);
  return p ? atol(p + strlen(key)) : -1;
}

static uint32_t MsSinceStart(uint64_t us) { return (uint32_t)((us - t0_us) / 1000u); }

static void* Sampler(void* arg) {
  (void)arg;
  char buf[8192];
  uint64_t next = NowUs();
  while (!stop_sampler && nsamples < MAX_SAMPLES) {
    struct Sample s = {0};
    s.t_ms = MsSinceStart(NowUs());
    if (ReadSmallFile("/proc/meminfo", buf, sizeof buf) > 0) {
      s.avail_kb = (uint32_t)MemInfoKb(buf, "MemAvailable:");
      s.free_kb = (uint32_t)MemInfoKb(buf, "MemFree:");
    }
    if (ReadSmallFile("/proc/pressure/memory", buf, sizeof buf) > 0) {
      const char* full = strstr(buf, "full");
      sscanf(buf, "some avg10=%f avg60=%*f avg300=%*f total=%lu", &s.some10, &s.some_us);
      if (full) sscanf(full, "full avg10=%f avg60=%*f avg300=%*f total=%lu", &s.full10, &s.full_us);
    }
    if (ReadSmallFile("/proc/pressure/io", buf, sizeof buf) > 0) {
      const char* full = strstr(buf, "full");
      sscanf(buf, "some avg10=%*f avg60=%*f avg300=%*f total=%lu", &s.io_some_us);
      if (full) sscanf(full, "full avg10=%*f avg60=%*f avg300=%*f total=%lu", &s.io_full_us);
    }
    s.probe_majflt = -1;
    if (sampled_probe > 0) {
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/stat", sampled_probe);
      const char* rp = ReadSmallFile(path, buf, sizeof buf) > 0 ? strrchr(buf, ')') : NULL;
      unsigned long majflt = 0;
      if (rp && sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %lu", &majflt) == 1) {
        s.probe_majflt = (int32_t)majflt;
      }
    }
    for (int i = 0; i < 2; ++i) {
      char path[224];
      if (!sampled_cg[i]) continue;
      snprintf(path, sizeof path, "%s/%s/memory.current", cg_base, sampled_cg[i]);
      if (ReadSmallFile(path, buf, sizeof buf) > 0) s.cg_kb[i] = (uint32_t)(atol(buf) / 1024);
    }
    s.daemon_ticks = s.loop_ticks = s.daemon_minflt = s.daemon_majflt = s.loop_wakeups = -1;
    if (sampled_daemon > 0) {
      char path[64];
      for (int k = 0; k < 2; ++k) {
        if (k == 0)
          snprintf(path, sizeof path, "/proc/%d/stat", sampled_daemon);
        else
          snprintf(path, sizeof path, "/proc/%d/task/%d/stat", sampled_daemon, sampled_daemon);
        if (ReadSmallFile(path, buf, sizeof buf) <= 0) continue;
        const char* rp = strrchr(buf, ')');
        unsigned long minflt = 0, majflt = 0, ut = 0, st = 0;
        if (rp && sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %lu %*u %lu %*u %lu %lu", &minflt,
                         &majflt, &ut, &st) == 4) {
          if (k == 0) {
            s.daemon_ticks = (int32_t)(ut + st);
            /* A fault burst under pressure is code or data trimmed out and read back. */
            s.daemon_minflt = (int32_t)minflt;
            s.daemon_majflt = (int32_t)majflt;
          } else {
            s.loop_ticks = (int32_t)(ut + st);
          }
        }
      }
      /* Each sleep of the loop thread is a wakeup later: what a tick's fixed cost multiplies. */
      snprintf(path, sizeof path, "/proc/%d/task/%d/status", sampled_daemon, sampled_daemon);
      if (ReadSmallFile(path, buf, sizeof buf) > 0) {
        const char* v = strstr(buf, "\nvoluntary_ctxt_switches:");
        unsigned long n = 0;
        if (v && sscanf(v + 1, "voluntary_ctxt_switches: %lu", &n) == 1) s.loop_wakeups = (int32_t)n;
      }
    }
    samples[nsamples] = s;
    nsamples = nsamples + 1;
    next += SAMPLE_US;
    uint64_t now = NowUs();
    if (next > now)
      SleepUs(next - now);
    else
      next = now;
  }
  return NULL;
}

static long made_cg_max_kb[8];
static int made_cg_started[8];

static int MadeIndex(const char* name) {
  for (int i = 0; i < nmade_cg; ++i)
    if (strcmp(made_cg[i], name) == 0) return i;
  return -1;
}

static int MakeCgroup(const char* name, long max_kb) {
  char path[224], val[32];
  if (nmade_cg < 8 && MadeIndex(name) < 0) {
    made_cg_max_kb[nmade_cg] = max_kb;
    snprintf(made_cg[nmade_cg++], sizeof made_cg[0], "%s", name);
  }
  if (sd_slice) return 0; /* the scope is made by systemd-run at the first Spawn into it */
  snprintf(path, sizeof path, "%s/%s", cg_base, name);
  if (mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
  if (max_kb > 0) {
    snprintf(path, sizeof path, "%s/%s/memory.max", cg_base, name);
    snprintf(val, sizeof val, "%ld", max_kb * 1024);
    return WriteString(path, val);
  }
  return 0;
}

/* Forks and execs this binary as a role, in its own cgroup, with the kernel's defaults
 * for oom_score_adj and no inherited mlock. */
static void ExecScope(const char* cg, char* const argv[]);

/* Waits until pid is in cg's cgroup.procs (systemd-run has made the scope), so the next
 * Spawn into the same scope can join it. */
static void AwaitInScope(const char* cg, int pid) {
  char path[224], buf[4096], want[16];
  snprintf(path, sizeof path, "%s/%s/cgroup.procs", cg_base, cg);
  snprintf(want, sizeof want, "%d", pid);
  for (int i = 0; i < 300; ++i) {
    if (ReadSmallFile(path, buf, sizeof buf) > 0) {
      for (char* line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        if (strcmp(line, want) == 0) return;
    }
    SleepUs(50000);
  }
  fprintf(stderr, "labtool: %d did not appear in %s\n", pid, path);
}

static int Spawn(const char* cg, int intended, char* const argv[]) {
  if (nprocs >= MAX_PROCS) return -1;
  int mi = MadeIndex(cg);
  int new_scope = sd_slice && mi >= 0 && !made_cg_started[mi];
  int pid = fork();
  if (pid == 0) {
    char path[224], val[16];
    WriteString("/proc/self/oom_score_adj", "0");
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (new_scope) ExecScope(cg, argv);
    snprintf(path, sizeof path, "%s/%s/cgroup.procs", cg_base, cg);
    snprintf(val, sizeof val, "%d", getpid());
    if (WriteString(path, val) != 0) _exit(70);
    execv(self_exe, argv);
    _exit(71);
  }
  if (pid < 0) return -1;
  if (new_scope) {
    made_cg_started[mi] = 1;
    AwaitInScope(cg, pid);
  }
  struct Proc* p = &procs[nprocs++];
  memset(p, 0, sizeof *p);
  p->pid = pid;
  snprintf(p->role, sizeof p->role, "%s", argv[0]);
  snprintf(p->cgroup, sizeof p->cgroup, "%s", cg);
  p->intended = intended;
  p->start_us = NowUs();
  return pid;
}

/* The systemd guest: this process becomes the first member of a new transient scope (systemd-run
 * asks PID 1 for the scope with its own PID, then execs the role), so it stays the harness's
 * child and its death is seen by waitpid as in the shell guest. */
static void ExecScope(const char* cg, char* const argv[]) {
  static char unit[64], slice[80], limit[64], role[96];
  char* args[32];
  int n = 0;
  snprintf(unit, sizeof unit, "--unit=%s", cg);
  snprintf(slice, sizeof slice, "--slice=%s", sd_slice);
  snprintf(role, sizeof role, "/opt/lab/bin/%s", argv[0]);
  args[n++] = "systemd-run";
  args[n++] = "--scope";
  args[n++] = "--quiet";
  args[n++] = "--collect";
  args[n++] = unit;
  args[n++] = slice;
  int mi = MadeIndex(cg);
  if (mi >= 0 && made_cg_max_kb[mi] > 0) {
    snprintf(limit, sizeof limit, "MemoryMax=%ld", made_cg_max_kb[mi] * 1024);
    args[n++] = "-p";
    args[n++] = limit;
  }
  args[n++] = "--";
  args[n++] = role;
  for (int i = 1; argv[i] && n < 31; ++i) args[n++] = argv[i];
  args[n] = NULL;
  execvp("systemd-run", args);
  _exit(72);
}

static struct Proc* FindProc(int pid) {
  for (int i = 0; i < nprocs; ++i)
    if (procs[i].pid == pid) return &procs[i];
  return NULL;
}

/* Registers CLONE_VM children that the clonehog published: they are part of its victim. */
static void AdoptCloneChildren(void) {
  if (!shared) return;
  for (int i = 0; i < shared->n_clone_children && nprocs < MAX_PROCS; ++i) {
    int pid = shared->clone_children[i];
    if (pid <= 0 || FindProc(pid)) continue;
    struct Proc* p = &procs[nprocs++];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    snprintf(p->role, sizeof p->role, "clonechild");
    snprintf(p->cgroup, sizeof p->cgroup, "lab-hog.scope");
    p->intended = 1;
    p->start_us = NowUs();
  }
}

static void Reap(void) {
  int status;
  int pid;
  while ((pid = waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
    struct Proc* p = FindProc(pid);
    if (p && !p->end_us) {
      p->end_us = NowUs();
      p->status = status;
    }
  }
}

static int AllIntendedDead(void) {
  int any = 0;
  for (int i = 0; i < nprocs; ++i) {
    if (!procs[i].intended) continue;
    any = 1;
    if (procs[i].end_us) continue;
    /* a clone child of a live hog is reaped by nobody: check it is gone or a zombie */
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", procs[i].pid);
    if (ReadSmallFile(path, buf, sizeof buf) < 0) {
      procs[i].end_us = NowUs();
      procs[i].status = -1;
      continue;
    }
    const char* rp = strrchr(buf, ')');
    if (rp && rp[1] && rp[2] == 'Z') continue;
    return 0;
  }
  return any;
}

struct Scenario {
  const char* name;
  int timeout_s;
  int fixed_s; /* runs this long and expects no kill */
};

static const struct Scenario kScenarios[] = {
    {"fast_hog", 60, 0}, {"slow_leak", 90, 0},   {"many_workers", 60, 0}, {"clone_vm", 60, 0},
    {"sigterm", 60, 0},  {"cache_churn", 0, 20}, {"two_cgroups", 60, 0},  {"growers", 60, 0},
};

static int StartScenario(const char* name, long total_kb) {
  char a[32], b[32], c[32], d[32];
  snprintf(b, sizeof b, "%ld", total_kb * 2);
  if (strcmp(name, "fast_hog") == 0) {
    MakeCgroup("lab-hog.scope", 0);
    return Spawn("lab-hog.scope", 1, (char*[]){"hog", "0", b, NULL});
  }
  if (strcmp(name, "slow_leak") == 0) {
    MakeCgroup("lab-hog.scope", 0);
    MakeCgroup("lab-reader.scope", 0);
    Spawn("lab-reader.scope", 0, (char*[]){"reader", "/opt/lab/data/reader.dat", NULL});
    snprintf(a, sizeof a, "%ld", total_kb / 30);
    return Spawn("lab-hog.scope", 1, (char*[]){"leak", a, b, NULL});
  }
  if (strcmp(name, "many_workers") == 0) {
    MakeCgroup("lab-hog.scope", 0);
    MakeCgroup("lab-workers.scope", 0);
    snprintf(a, sizeof a, "%ld", total_kb / 100);
    for (int i = 0; i < 30; ++i) Spawn("lab-workers.scope", 0, (char*[]){"worker", a, NULL});
    snprintf(a, sizeof a, "%ld", total_kb / 20);
    return Spawn("lab-hog.scope", 1, (char*[]){"hog", a, b, NULL});
  }
  if (strcmp(name, "clone_vm") == 0) {
    MakeCgroup("lab-hog.scope", 0);
    snprintf(a, sizeof a, "%ld", total_kb / 10);
    snprintf(d, sizeof d, "%d", shared_fd);
    return Spawn("lab-hog.scope", 1,
                 (char*[]){"clonehog", a, b, "4", "/opt/lab/data/reader.dat", d, NULL});
  }
  if (strcmp(name, "sigterm") == 0) {
    MakeCgroup("lab-hog.scope", 0);
    snprintf(a, sizeof a, "%ld", total_kb / 10);
    return Spawn("lab-hog.scope", 1, (char*[]){"termhog", a, b, NULL});
  }
  if (strcmp(name, "cache_churn") == 0) {
    MakeCgroup("lab-steady.scope", 0);
    MakeCgroup("lab-churn.scope", 0);
    snprintf(a, sizeof a, "%ld", total_kb / 3);
    Spawn("lab-steady.scope", 0, (char*[]){"steady", "0", a, NULL});
    snprintf(c, sizeof c, "%ld", total_kb * 5 / 4);
    return Spawn("lab-churn.scope", 0, (char*[]){"churn", "/opt/lab/churn.dat", c, NULL});
  }
  if (strcmp(name, "growers") == 0) {
    /* One application's 8 processes (a parallel build, a browser's content processes), each
     * growing T/4 per second without bound: together twice the machine's memory a second,
     * none large alone when memory runs out (about T/8 each). One kill is never enough:
     * every grower must die, one after the other, and the kernel's OOM killer must not be
     * the one that does it. */
    MakeCgroup("lab-build.scope", 0);
    snprintf(a, sizeof a, "%ld", total_kb / 4);
    for (int i = 0; i < 8; ++i) {
      if (Spawn("lab-build.scope", 1, (char*[]){"grower", a, b, NULL}) < 0) return -1;
    }
    return 0;
  }
  if (strcmp(name, "two_cgroups") == 0) {
    const char* cgs[2] = {"lab-a.scope", "lab-b.scope"};
    snprintf(a, sizeof a, "%ld", total_kb / 20);
    snprintf(c, sizeof c, "%ld", total_kb / 32);
    for (int i = 0; i < 2; ++i) {
      MakeCgroup(cgs[i], total_kb / 4);
      sampled_cg[i] = cgs[i];
      Spawn(cgs[i], 0, (char*[]){"bystander", c, NULL});
      if (Spawn(cgs[i], 1, (char*[]){"hog", a, b, NULL}) < 0) return -1;
    }
    return 0;
  }
  return -1;
}

#include "harness_out.inc"

int HarnessMain(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: labtool run SCENARIO CONTENDER CONTENDER_PID OUTDIR\n");
    return 64;
  }
  const char* scenario = argv[1];
  const char* contender = argv[2];
  int daemon_pid = atoi(argv[3]);
  const char* outdir = argc > 4 ? argv[4] : ".";
  const struct Scenario* sc = NULL;
  for (size_t i = 0; i < sizeof kScenarios / sizeof kScenarios[0]; ++i)
    if (strcmp(kScenarios[i].name, scenario) == 0) sc = &kScenarios[i];
  if (!sc) {
    fprintf(stderr, "labtool: unknown scenario %s\n", scenario);
    return 64;
  }
  if (readlink("/proc/self/exe", self_exe, sizeof self_exe - 1) < 0) return 70;
  if (getenv("LAB_SLICE") && getenv("LAB_CG_BASE")) {
    sd_slice = getenv("LAB_SLICE");
    cg_base = getenv("LAB_CG_BASE");
  }
  WriteString("/proc/self/oom_score_adj", "-1000");
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  mlockall(MCL_CURRENT | MCL_FUTURE);
  shared_fd = memfd_create("labshared", 0);
  if (shared_fd < 0 || ftruncate(shared_fd, 4096) != 0) return 70;
  shared = MapShared(shared_fd);
  char buf[8192];
  if (ReadSmallFile("/proc/meminfo", buf, sizeof buf) < 0) return 70;
  long total_kb = MemInfoKb(buf, "MemTotal:");
  int kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (kmsg >= 0) lseek(kmsg, 0, SEEK_END);
  struct DaemonStat d0 = ReadDaemon(daemon_pid);
  sampled_daemon = daemon_pid;

  t0_us = NowUs();
  pthread_t sampler;
  pthread_create(&sampler, NULL, Sampler, NULL);
  MakeCgroup("lab-probe.scope", 0);
  char fdarg[16];
  snprintf(fdarg, sizeof fdarg, "%d", shared_fd);
  sampled_probe =
      Spawn("lab-probe.scope", 0, (char*[]){"probe", "/opt/lab/data/probe.dat", fdarg, NULL});
  SleepUs(1000000); /* baseline before the pressure starts */
  uint64_t start_us = NowUs();
  if (StartScenario(scenario, total_kb) < 0) fprintf(stderr, "labtool: spawn failed\n");

  const char* reason = "timeout";
  uint64_t limit_us = (uint64_t)(sc->fixed_s ? sc->fixed_s : sc->timeout_s) * 1000000u;
  uint64_t done_at = 0;
  for (;;) {
    SleepUs(20000);
    AdoptCloneChildren();
    Reap();
    uint64_t now = NowUs();
    if (!sc->fixed_s && !done_at && AllIntendedDead()) done_at = now;
    if (done_at && now - done_at > 3000000u) { /* watch memory come back, and overkill */
      reason = "victims_dead";
      break;
    }
    if (now - start_us > limit_us) {
      reason = sc->fixed_s ? "fixed_duration" : "timeout";
      break;
    }
  }
  uint64_t end_us = NowUs();
  struct DaemonStat d1 = ReadDaemon(daemon_pid);
  Teardown();
  stop_sampler = 1;
  pthread_join(sampler, NULL);
  ReadKmsg(kmsg);
  WriteOutputs(outdir, scenario, contender, total_kb, start_us, end_us, reason, daemon_pid, &d0,
               &d1);
  return 0;
}
