/* The lab's guest tool: one static binary, many roles (harness, hogs, probe, workers).
 * Shared declarations. Runs inside the lab VM only; it exhausts memory on purpose. */
#pragma once
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define LAB_MAX_CLONE_CHILDREN 8

/* A page shared (through a memfd passed by number) between the harness and its roles,
 * so the probe's figures survive the probe being killed. */
struct LabShared {
  volatile uint64_t probe_iters;
  volatile uint64_t probe_max_gap_us;
  volatile uint64_t probe_max_gap_at_us; /* CLOCK_MONOTONIC, us */
  volatile uint64_t probe_gaps_over_100ms;
  volatile uint64_t probe_gaps_over_1s;
  volatile int32_t clone_children[LAB_MAX_CLONE_CHILDREN];
  volatile int32_t n_clone_children;
};

uint64_t NowUs(void);
void SleepUs(uint64_t us);
struct LabShared* MapShared(int fd);
/* Reads a whole small file into buf (NUL-terminated); returns bytes or -1. */
long ReadSmallFile(const char* path, char* buf, size_t size);
int WriteString(const char* path, const char* value);
long MemInfoKb(const char* text, const char* key);

int RoleMain(int argc, char** argv); /* dispatch on argv[0] */
int HarnessMain(int argc, char** argv);
