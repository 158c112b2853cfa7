#include "kill/kill_log.h"

#include <gtest/gtest.h>

namespace reaperd::kill {
namespace {

TEST(LogKillResult, ReapedLineCarriesBytesAndTimes) {
  RecordingSink sink;
  Logger log(sink);
  KillResult r;
  r.outcome = Outcome::kReaped;
  r.victim.id = {42, 7};
  r.victim.comm.Assign("a\nb");
  r.t_decision = 1000;
  r.t_signal = 1000 + 250 * sys::kMicro;
  r.t_reaped = r.t_signal + 80 * sys::kMilli;
  r.bytes_freed = 4096;
  r.freed_by = FreedBy::kMrelease;
  LogKillResult(log, r);
  ASSERT_EQ(sink.Lines().size(), 1u);
  const std::string line = sink.Lines()[0];
  EXPECT_TRUE(line.starts_with("kill ")) << line;
  EXPECT_NE(line.find("bytes_freed=4096 freed_by=process_mrelease"), std::string::npos) << line;
  EXPECT_NE(line.find("decision_to_signal_ms=0.250"), std::string::npos) << line;
  EXPECT_NE(line.find("signal_to_reaped_ms=80.000"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos) << "comm must be escaped";
}

TEST(LogKillResult, MissedDeadlineIsAStall) {
  RecordingSink sink;
  Logger log(sink);
  KillResult r;
  r.outcome = Outcome::kMissedDeadline;
  r.last_resort = LastResortAction::kKernelOom;
  r.last_resort_failed = true;
  r.last_resort_error = Error::Sys(EIO, "sysrq-trigger");
  LogKillResult(log, r);
  ASSERT_EQ(sink.Lines().size(), 1u);
  EXPECT_TRUE(sink.Lines()[0].starts_with("stall ")) << sink.Lines()[0];
  EXPECT_NE(sink.Lines()[0].find("last_resort=kernel"), std::string::npos);
  EXPECT_NE(sink.Lines()[0].find("last_resort_failed=true"), std::string::npos) << sink.Lines()[0];
  EXPECT_NE(sink.Lines()[0].find("sysrq-trigger"), std::string::npos) << sink.Lines()[0];
}

}  // namespace
}  // namespace reaperd::kill
