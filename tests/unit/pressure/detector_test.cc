// The detector's rules one at a time, on short sample sequences built here: each sequence is
// constructed to cross exactly one rule, so a failure names the rule that broke. (The
// end-to-end behaviour on real runs is in detector_trace_test.cc.)
#include "pressure/detector.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "pressure/history.h"
#include "pressure/trace.h"

namespace reaperd::pressure {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kTotal = 1000 * kMiB;

// A sample of a 1000 MiB scope with `avail_mib` available, PSI totals in microseconds.
PressureSample At(std::int64_t t_ms, std::uint64_t avail_mib, std::uint64_t some_us = 0,
                  std::uint64_t full_us = 0) {
  PressureSample s;
  s.t_ns = t_ms * kMs;
  s.total_bytes = kTotal;
  s.available_bytes = avail_mib * kMiB;
  s.psi_some_total_us = some_us;
  s.psi_full_total_us = full_us;
  return s;
}

TEST(History, SlopeOfALineAndPsiShares) {
  History h;
  for (int i = 0; i <= 10; ++i) {
    h.Push({i * 100 * kMs, 1000.0 - 50.0 * i, static_cast<std::uint64_t>(i) * 25'000, 0});
  }
  EXPECT_DOUBLE_EQ(h.Slope(500 * kMs), -500.0);  // -50 per 100 ms
  const auto shares = h.PsiShares(1000 * kMs);
  EXPECT_DOUBLE_EQ(shares.some_percent, 25.0);  // 25 ms stalled per 100 ms
  EXPECT_DOUBLE_EQ(shares.full_percent, 0.0);
}

TEST(History, SlopeAlwaysUsesThePreviousPoint) {
  History h;
  h.Push({0, 1000, 0, 0});
  EXPECT_EQ(h.Slope(500 * kMs), 0.0);
  h.Push({1000 * kMs, 800, 0, 0});  // older than the window, still counted
  EXPECT_DOUBLE_EQ(h.Slope(500 * kMs), -200.0);
}

// A victim's memory coming back is a rebound, and the fall after it is a fall of its own:
// its slope starts at the rebound's top.
TEST(History, SlopeWithAReboundBoundStartsAtTheRebound) {
  History h;
  for (int i = 0; i < 4; ++i) h.Push({i * 100 * kMs, 1000.0 - 100.0 * i, 0, 0});  // to 700
  h.Push({400 * kMs, 900, 0, 0});                                                 // rebound
  h.Push({450 * kMs, 800, 0, 0});
  h.Push({500 * kMs, 700, 0, 0});
  EXPECT_NEAR(h.Slope(500 * kMs, 10), -2000.0, 1e-6);  // 100 per 50 ms since the top
  EXPECT_GT(h.Slope(500 * kMs), -2000.0 / 2);          // the whole window hides it
  // A plain fall: the same as Slope.
  History plain;
  for (int i = 0; i <= 10; ++i) plain.Push({i * 100 * kMs, 1000.0 - 50.0 * i, 0, 0});
  EXPECT_DOUBLE_EQ(plain.Slope(500 * kMs, 10), plain.Slope(500 * kMs));
  // A rebound smaller than the bound is noise, not a new fall.
  EXPECT_DOUBLE_EQ(h.Slope(500 * kMs, 250), h.Slope(500 * kMs));
}

TEST(Detector, LevelsFollowHeadroomWithHysteresis) {
  Detector d(config::DetectorConfig{});  // warn 10%, reclaim 7%, hysteresis 2%
  // 100 s apart, so the trend is far too slow to matter here.
  EXPECT_EQ(d.Update(At(0, 500)).level, Level::kOk);
  EXPECT_EQ(d.Update(At(100'000, 95)).level, Level::kWarn);
  EXPECT_EQ(d.Update(At(200'000, 65)).level, Level::kReclaim);
  Decision held = d.Update(At(300'000, 80));  // above 7% but not above 7% + 2%
  EXPECT_EQ(held.level, Level::kReclaim);
  EXPECT_TRUE(held.reasons & kReasonAvailableLow);
  EXPECT_EQ(d.Update(At(400'000, 95)).level, Level::kWarn);   // held below 12%
  EXPECT_EQ(d.Update(At(500'000, 115)).level, Level::kWarn);  // still held
  EXPECT_EQ(d.Update(At(600'000, 125)).level, Level::kOk);
}

TEST(Detector, FloorKillsAtOnceAndIsNotHeldByHysteresis) {
  Detector d(config::DetectorConfig{});
  d.Update(At(0, 50));
  const Decision k = d.Update(At(1000, 35));  // 3.5% < 4%
  EXPECT_EQ(k.level, Level::kKill);
  EXPECT_TRUE(k.reasons & kReasonAvailableLow);
  EXPECT_EQ(d.Update(At(2000, 45)).level, Level::kReclaim);  // 4.5%: no second kill
}

TEST(Detector, TrendKillNeedsConfirmedPace) {
  config::DetectorConfig cfg;
  Detector d(cfg);
  // 100 MiB/s towards a 40 MiB floor: inside the warn zone from 95 MiB down.
  std::int64_t t = 0;
  d.Update(At(t, 200));
  int hits = 0;
  Level last = Level::kOk;
  for (std::uint64_t avail = 190; avail >= 60; avail -= 10) {
    t += 100;
    const Decision dec = d.Update(At(t, avail));
    if (dec.reasons & kReasonTimeToExhaustion) ++hits;
    last = dec.level;
    if (last == Level::kKill) break;
  }
  EXPECT_EQ(last, Level::kKill);
  EXPECT_EQ(hits, cfg.tte_confirm_samples);
}

TEST(Detector, TrendIgnoredWhenThePaceStops) {
  Detector d(config::DetectorConfig{});
  std::int64_t t = 0;
  for (std::uint64_t avail = 200; avail >= 90; avail -= 10) d.Update(At(t += 100, avail));
  // Stopped at 9%: the least-squares trend still falls, the latest interval does not.
  for (int i = 0; i < 10; ++i) {
    const Decision dec = d.Update(At(t += 100, 90));
    EXPECT_NE(dec.level, Level::kKill) << i;
  }
}

TEST(Detector, PsiFullKillsOnlyWhenSustained) {
  config::DetectorConfig cfg;  // full >= 40% for 2 s over a 1 s window
  Detector d(cfg);
  std::uint64_t full = 0;
  std::int64_t t = 0;
  d.Update(At(t, 400, full, full));
  // A 1.5 s burst at 60% stall: never a kill.
  for (; t < 1500;) {
    t += 100;
    full += 60'000;
    EXPECT_NE(d.Update(At(t, 400, full, full)).level, Level::kKill);
  }
  for (int i = 0; i < 30; ++i) d.Update(At(t += 100, 400, full, full));  // calm again
  // Sustained: a kill once the share has stayed high for psi_sustain_ms.
  std::int64_t first_kill = -1;
  const std::int64_t start = t;
  for (int i = 0; i < 60 && first_kill < 0; ++i) {
    t += 100;
    full += 60'000;
    const Decision dec = d.Update(At(t, 400, full, full));
    if (dec.level == Level::kKill) {
      first_kill = t;
      EXPECT_TRUE(dec.reasons & kReasonPsiFullSustained);
      EXPECT_GE(dec.psi_full_percent, cfg.psi_full_kill_percent);
    }
  }
  ASSERT_GE(first_kill, 0);
  EXPECT_GE(first_kill - start, cfg.psi_sustain_ms);
}

// The lab's oomd_test (systemd's TEST-55 on the systemd guest): a slice's services throttled at
// their own MemoryHigh kept the system's PSI full high for seconds while 72-78% of memory was
// available, and the system scope killed 8-10 unrelated processes (agetty, udev workers) one
// after another. A stall with that much memory available is not a shortage a kill in this
// scope can end: no kill on PSI alone, reclaim at most.
TEST(Detector, PsiFullWithMostMemoryAvailableNeverKills) {
  config::DetectorConfig cfg;
  Detector d(cfg);
  std::uint64_t full = 0;
  std::int64_t t = 0;
  d.Update(At(t, 750, full, full));
  for (int i = 0; i < 100; ++i) {
    t += 100;
    full += 80'000;  // 80% full stall, sustained for 10 s
    const Decision dec = d.Update(At(t, 750, full, full));
    ASSERT_NE(dec.level, Level::kKill) << "a PSI kill with 75% available, at " << t << " ms";
    if (t > 4000) {
      EXPECT_EQ(dec.level, Level::kReclaim) << "the stall is still reported";
    }
  }
}

TEST(Detector, PsiSomeSustainedWarns) {
  Detector d(config::DetectorConfig{});
  std::uint64_t some = 0;
  std::int64_t t = 0;
  Decision dec;
  for (int i = 0; i < 40; ++i) {
    some += 20'000;  // 20% of each 100 ms
    dec = d.Update(At(t += 100, 500, some, 0));
  }
  EXPECT_EQ(dec.level, Level::kWarn);
  EXPECT_TRUE(dec.reasons & kReasonPsiSomeSustained);
  EXPECT_EQ(dec.next_interval_ms, config::DetectorConfig{}.interval_fast_ms);
}

TEST(Detector, NoSecondKillUntilMemoryIsBack) {
  Detector d(config::DetectorConfig{});
  d.Update(At(0, 35));
  d.NoteKill(0, 300 * kMiB, 5000 * kMs);
  const Decision held = d.Update(At(100, 30));
  EXPECT_EQ(held.level, Level::kReclaim);
  EXPECT_TRUE(held.reasons & kReasonVictimPending);
  EXPECT_TRUE(d.victim_pending());
  d.Update(At(200, 150));  // 120 MiB back: less than half of 300
  EXPECT_TRUE(d.victim_pending());
  d.Update(At(300, 190));  // 160 MiB back
  EXPECT_FALSE(d.victim_pending());
  EXPECT_EQ(d.Update(At(400, 30)).level, Level::kKill);  // a new emergency is a new kill
}

TEST(Detector, PendingVictimEndsAtItsDeadlineOrWhenReaped) {
  config::DetectorConfig cfg;
  cfg.victim_settle_ms = 200;  // a settle time configured by hand
  Detector by_deadline(cfg);
  by_deadline.Update(At(0, 35));
  by_deadline.NoteKill(0, 300 * kMiB, 1000 * kMs);
  EXPECT_EQ(by_deadline.Update(At(900, 35)).level, Level::kReclaim);
  EXPECT_EQ(by_deadline.Update(At(1000, 35)).level, Level::kKill);

  Detector by_reaper(cfg);
  by_reaper.Update(At(0, 35));
  by_reaper.NoteKill(0, 300 * kMiB, 5000 * kMs);
  by_reaper.NoteVictimDone(100 * kMs);
  EXPECT_EQ(by_reaper.Update(At(200, 35)).level, Level::kReclaim);  // settling
  EXPECT_EQ(by_reaper.Update(At(100 + cfg.victim_settle_ms, 35)).level, Level::kKill);
}

// The lab's growers (session 18): after a victim's memory came back, the others' fall went
// on at 950 MiB/s, and the trend over the whole window, rebound included, said -35 MiB/s:
// no prediction until the floor. Judged from the rebound, the floor is 58 ms away.
TEST(Detector, AFallAfterAReboundIsJudgedFromTheRebound) {
  Detector d(config::DetectorConfig{});
  d.Update(At(0, 130));
  d.Update(At(100, 120));
  d.Update(At(200, 190));  // a victim's memory came back
  const Decision k = d.Update(At(300, 95));
  EXPECT_EQ(k.level, Level::kKill);
  EXPECT_TRUE(k.reasons & kReasonTimeToExhaustion);
  EXPECT_NEAR(k.slope_bytes_per_s / kMiB, -950.0, 1.0);
}

// Issue 13: when other processes grow while the victim dies, its memory never shows as
// "back" in the headroom; once the reaper says it is done (reaped or its mm gone, so its
// pages are free), the first sample after that judges afresh: a burst of growing processes
// is met with the next kill at once, not after a fixed settle time.
TEST(Detector, TheFirstSampleAfterTheVictimIsDoneMayKillAgain) {
  Detector d(config::DetectorConfig{});
  d.Update(At(0, 35));
  d.NoteKill(0, 300 * kMiB, 5000 * kMs);
  EXPECT_EQ(d.Update(At(50, 30)).level, Level::kReclaim);  // on its way
  d.NoteVictimDone(100 * kMs);
  EXPECT_EQ(d.Update(At(110, 30)).level, Level::kKill) << "the next victim waited on a settle";
}

TEST(Detector, IntervalIsSlowWhenIdleAndFastWhenFalling) {
  config::DetectorConfig cfg;
  cfg.interval_slow_ms = 300;  // below the time a fast hog needs to eat 760 MiB
  Detector d(cfg);
  EXPECT_EQ(d.Update(At(0, 800)).next_interval_ms, cfg.interval_slow_ms);
  EXPECT_EQ(d.Update(At(1000, 800)).next_interval_ms, cfg.interval_slow_ms);
  EXPECT_EQ(d.Update(At(2000, 600)).next_interval_ms, cfg.interval_fast_ms);  // 200 MiB/s
  EXPECT_EQ(d.Update(At(3000, 150)).next_interval_ms, cfg.interval_fast_ms);  // 15% headroom
}

// Idle, the next look comes before a hog at kMaxFillBytesPerSecond could eat the headroom
// down to the kill floor, however long interval_slow_ms is: a small scope is looked at often,
// a big one only every interval_slow_ms.
TEST(Detector, IdleIntervalIsNoLongerThanAFastHogNeedsToReachTheFloor) {
  config::DetectorConfig cfg;
  cfg.interval_slow_ms = 60000;
  Detector small(cfg);
  const Decision d = small.Update(At(0, 800));
  ASSERT_EQ(d.level, Level::kOk);
  const double floor_mib = 1000 * cfg.kill_available_percent / 100;
  const double cover_ms = (800 - floor_mib) * kMiB / kMaxFillBytesPerSecond * 1000;
  EXPECT_LE(d.next_interval_ms, cover_ms);
  EXPECT_GE(d.next_interval_ms, cover_ms - 1);

  Detector big(cfg);
  PressureSample s = At(0, 0);
  s.total_bytes = 1024 * 1024 * kMiB;  // 1 TiB, nearly all of it available
  s.available_bytes = s.total_bytes - kMiB;
  EXPECT_EQ(big.Update(s).next_interval_ms, cfg.interval_slow_ms);
}

// Issue 13's growers in the lab: eight processes together filled a 343 MiB guest at about
// 600 MiB/s, crossing the whole warn band (10% to the 4% floor) in 35 ms, between two
// samples 100 ms apart; the kill was decided at 7 MiB, where the guest already thrashed, and
// its scan took 1.8 s. A fast fall is chased: the next look comes when the latest pace
// reaches the warn edge, so the kill is decided inside the warn band, whatever the phase of
// the samples against the fall.
struct FallResult {
  double kill_percent = -1;  // available at the kill decision; -1: none
  int samples = 0;
};

// Feeds a fall from start_mib at mib_per_s to stop_mib (then flat), looking again exactly
// when each decision asks, until a kill or 3 s.
FallResult Fall(double start_mib, double mib_per_s, double stop_mib) {
  Detector d(config::DetectorConfig{});
  d.Update(At(0, static_cast<std::uint64_t>(start_mib)));  // idle before: no trend
  FallResult r;
  std::int64_t t_ns = 1000 * kMs;  // the fall starts at 1 s
  const std::int64_t begin = t_ns;
  while (t_ns < 4000 * kMs) {
    const double avail =
        std::max(stop_mib, start_mib - mib_per_s * static_cast<double>(t_ns - begin) / 1e9);
    PressureSample s = At(0, 0);
    s.t_ns = t_ns;
    s.available_bytes = static_cast<std::uint64_t>(avail * kMiB);
    const Decision dec = d.Update(s);
    ++r.samples;
    if (dec.level == Level::kKill) {
      r.kill_percent = dec.available_percent;
      return r;
    }
    t_ns += static_cast<std::int64_t>(dec.next_interval_ms) * kMs;
  }
  return r;
}

// 1750 MiB/s into this 1000 MiB scope is the guest's 600 MiB/s into 343 MiB: 175 MiB per
// 100 ms against a 60 MiB warn band.
TEST(Detector, AFastFallIsChasedIntoTheWarnBand) {
  for (int phase = 0; phase < 175; phase += 7) {  // where the 100 ms samples fall on the way
    const FallResult r = Fall(600 + phase, 1750, 0);
    EXPECT_GE(r.kill_percent, 7.0) << "phase " << phase;
    EXPECT_LE(r.samples, 8) << "phase " << phase;  // 100 ms apart until near the edge
  }
}

// A burst that one victim does not end (the lab's growers, session 18): the sample right
// after the victim's memory came back sees headroom rising, with no pace to chase, and the
// next one 100 ms later was below the floor. The fastest fall of the last 2 s is chased too.
TEST(Detector, TheFallAfterAVictimIsChasedAtTheBurstsPace) {
  for (int phase = 0; phase < 100; phase += 10) {
    Detector d(config::DetectorConfig{});
    std::int64_t t = 0;
    double avail = 600 + phase;
    d.Update(At(t, static_cast<std::uint64_t>(avail)));
    Decision dec = d.Update(At(t += 100, static_cast<std::uint64_t>(avail -= 175)));
    // The first kill, wherever it comes; its victim's memory is back at once.
    int guard = 0;
    while (dec.level != Level::kKill && ++guard < 100) {
      avail = std::max(0.0, avail - 1.75 * dec.next_interval_ms);
      PressureSample s = At(0, 0);
      s.t_ns = (t += dec.next_interval_ms) * kMs;
      s.available_bytes = static_cast<std::uint64_t>(avail * kMiB);
      dec = d.Update(s);
    }
    ASSERT_EQ(dec.level, Level::kKill);
    d.NoteKill(t * kMs, 100 * kMiB, (t + 5000) * kMs);
    d.NoteVictimDone((t + 1) * kMs);
    avail += 100;  // the victim's memory, and the others go on at 1750 MiB/s
    PressureSample s = At(0, 0);
    s.t_ns = (t += 2) * kMs;
    s.available_bytes = static_cast<std::uint64_t>(avail * kMiB);
    dec = d.Update(s);
    ASSERT_NE(dec.level, Level::kKill) << "phase " << phase;
    while (dec.level != Level::kKill && ++guard < 200) {
      avail = std::max(0.0, avail - 1.75 * dec.next_interval_ms);
      s.t_ns = (t += dec.next_interval_ms) * kMs;
      s.available_bytes = static_cast<std::uint64_t>(avail * kMiB);
      dec = d.Update(s);
    }
    EXPECT_EQ(dec.level, Level::kKill) << "phase " << phase;
    EXPECT_GE(dec.available_percent, 7.0) << "phase " << phase;
  }
}

// Only a fall that reaches the warn edge before the next look is chased: idle, memory drifts
// down a few KiB between looks, and a chase capped at interval_fast_ms made every such look
// the next one 100 ms later (idle wakeups 0.20/s to 0.28/s on the build machine).
TEST(Detector, ASlowDriftIsNotChased) {
  config::DetectorConfig cfg;
  cfg.interval_slow_ms = 60000;
  Detector d(cfg);
  d.Update(At(0, 800));
  PressureSample s = At(10'000, 800);
  s.available_bytes -= 4096;
  const Decision dec = d.Update(s);
  ASSERT_FALSE(dec.busy);
  EXPECT_GT(dec.next_interval_ms, 300);  // the cover interval: 371 ms at 2 GiB/s
}

// Chasing is looking sooner, not killing sooner: a fast fall that stops above the warn band
// is never a kill.
TEST(Detector, AFastFallThatStopsAboveTheWarnBandIsNoKill) {
  for (int phase = 0; phase < 175; phase += 7) {
    EXPECT_LT(Fall(600 + phase, 1750, 110).kill_percent, 0) << "phase " << phase;
  }
}

TEST(Detector, SampleFromThePastIsIgnored) {
  Detector d(config::DetectorConfig{});
  const Decision a = d.Update(At(1000, 500));
  const Decision b = d.Update(At(500, 10));
  EXPECT_EQ(b.level, a.level);
  EXPECT_EQ(b.available_percent, a.available_percent);
}

TEST(Detector, SwapCountsAsHeadroom) {
  Detector d(config::DetectorConfig{});
  PressureSample s = At(0, 30);  // 3% of RAM
  s.swap_total_bytes = kTotal;
  s.swap_free_bytes = kTotal / 2;
  const Decision dec = d.Update(s);
  EXPECT_EQ(dec.level, Level::kOk);
  EXPECT_NEAR(dec.available_percent, 26.5, 1e-9);
}

// systemd-oomd's SwapUsedLimit: RAM and swap both 95% used. Headroom (50 + 50) / 2000 = 5%
// is above the kill floor (4%): red on the old code, which only reclaimed here while the
// machine swapped itself to a halt.
TEST(Detector, SwapAndMemoryBothNearlyFullKill) {
  Detector d(config::DetectorConfig{});
  PressureSample s = At(0, 50);
  s.swap_total_bytes = kTotal;
  s.swap_free_bytes = 50 * kMiB;
  Decision dec = d.Update(s);
  EXPECT_EQ(dec.level, Level::kKill);
  EXPECT_NE(dec.reasons & kReasonSwapExhausted, 0);
  // Swap nearly full with memory to spare, or memory low with swap to spare: not this rule.
  Detector d2(config::DetectorConfig{});
  s = At(0, 300);
  s.swap_total_bytes = kTotal;
  s.swap_free_bytes = 10 * kMiB;
  dec = d2.Update(s);
  EXPECT_EQ(dec.reasons & kReasonSwapExhausted, 0);
  Detector d3(config::DetectorConfig{});
  s = At(0, 50);
  s.swap_total_bytes = kTotal;
  s.swap_free_bytes = 500 * kMiB;
  dec = d3.Update(s);
  EXPECT_EQ(dec.reasons & kReasonSwapExhausted, 0);
  // Off at 0, and never without swap.
  config::DetectorConfig off;
  off.swap_used_kill_percent = 0;
  Detector d4(off);
  s = At(0, 50);
  s.swap_total_bytes = kTotal;
  s.swap_free_bytes = 50 * kMiB;
  EXPECT_EQ(d4.Update(s).reasons & kReasonSwapExhausted, 0);
  Detector d5(config::DetectorConfig{});
  EXPECT_EQ(d5.Update(At(0, 50)).reasons & kReasonSwapExhausted, 0);
}

TEST(Trace, ParsesLinesCommentsAndErrors) {
  auto ok = ParseTraceLine("5 10 7 0 0 100 50 3 0  # note");
  ASSERT_TRUE(ok && *ok);
  EXPECT_EQ((*ok)->t_ns, 5);
  EXPECT_EQ((*ok)->available_bytes, 7u);
  EXPECT_EQ((*ok)->psi_full_total_us, 50u);
  EXPECT_EQ((*ok)->refault_total, 3u);
  auto blank = ParseTraceLine("   # only a comment");
  ASSERT_TRUE(blank);
  EXPECT_FALSE(*blank);
  EXPECT_FALSE(ParseTraceLine("1 2 3"));
  EXPECT_FALSE(ParseTraceLine("1 2 3 4 5 6 7 8 9 10"));
  EXPECT_FALSE(ParseTraceLine("1 2 3 4 5 6 7 8 x9"));
  EXPECT_FALSE(ParseTraceLine("1 2 3 4 5 6 7 8 -9"));
  EXPECT_FALSE(ParseTrace("2 1 1 0 0 0 0 0 0\n1 1 1 0 0 0 0 0 0\n"));
  auto two = ParseTrace("# header\n1 1 1 0 0 0 0 0 0\n\n2 1 1 0 0 0 0 0 0");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->size(), 2u);
}

}  // namespace
}  // namespace reaperd::pressure
