// Engine::AddScope/RemoveScope over the captured v1 host tree: every per-scope structure stays
// consistent, duplicates are refused, and an automatic scope whose cgroup is gone is dropped on
// the next tick while a configured one keeps counting sample errors.
#include <gtest/gtest.h>

#include "base/log.h"
#include "config/config.h"
#include "daemon/engine.h"
#include "sys/clock.h"
#include "sys/system_view.h"
#include "unit/kill/fakes.h"

namespace reaperd::daemon {
namespace {

const std::string kFx = REAPERD_FIXTURES;

class RecordingSink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view, std::string_view line) noexcept override {
    lines.emplace_back(line);
  }
  std::vector<std::string> lines;
};

policy::Scope Cgroup(const char* path) {
  policy::Scope s;
  EXPECT_TRUE(policy::ParseScope(std::string("cgroup:") + path, &s));
  return s;
}

std::size_t Count(const std::vector<std::string>& lines, const std::string& part) {
  std::size_t n = 0;
  for (const auto& l : lines) n += l.find(part) != std::string::npos ? 1 : 0;
  return n;
}

class EngineScopes : public testing::Test {
 protected:
  void SetUp() override {
    auto v = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
    ASSERT_TRUE(v.has_value());
    view_.emplace(std::move(*v));
    engine_ = std::make_unique<Engine>(cfg_, std::vector<policy::Scope>{policy::Scope{}},
                                       EngineOptions{.dry_run = true, .self = 1}, *view_, clock_,
                                       log_, ops_, sysrq_);
  }

  config::Config cfg_;
  std::optional<sys::RealSystemView> view_;
  sys::FakeClock clock_;
  RecordingSink sink_;
  Logger log_{sink_, LogLevel::kDebug};
  kill::testing::FakeOps ops_;
  kill::testing::FakeSysrq sysrq_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineScopes, AddRefusesDuplicatesAndRemoveKeepsTheOthers) {
  EXPECT_TRUE(engine_->AddScope(Cgroup("/reaperd-capture"), true));
  EXPECT_FALSE(engine_->AddScope(Cgroup("/reaperd-capture"), true));
  EXPECT_FALSE(engine_->AddScope(policy::Scope{}, true));  // "system" exists
  ASSERT_EQ(engine_->status().size(), 2u);
  ASSERT_EQ(engine_->samplers().size(), 2u);
  const auto g = engine_->scopes_generation();
  (void)engine_->Tick();
  EXPECT_EQ(engine_->status()[1].sample.total_bytes, 134217728u);  // the fixture's limit

  EXPECT_TRUE(engine_->RemoveScope("cgroup:/reaperd-capture", "test"));
  EXPECT_FALSE(engine_->RemoveScope("cgroup:/reaperd-capture", "test"));
  EXPECT_NE(engine_->scopes_generation(), g);
  ASSERT_EQ(engine_->status().size(), 1u);
  ASSERT_EQ(engine_->samplers().size(), 1u);
  EXPECT_EQ(engine_->status()[0].scope.Name(), "system");
  EXPECT_EQ(engine_->samplers()[0].scope().Name(), "system");
  (void)engine_->Tick();  // still consistent
  EXPECT_EQ(Count(sink_.lines, "scope_added"), 1u);
  EXPECT_EQ(Count(sink_.lines, "scope_removed"), 1u);
}

TEST_F(EngineScopes, VanishedAutomaticScopeIsDroppedConfiguredOneKept) {
  ASSERT_TRUE(engine_->AddScope(Cgroup("/gone-auto"), true));
  ASSERT_TRUE(engine_->AddScope(Cgroup("/gone-configured"), false));
  (void)engine_->Tick();
  (void)engine_->Tick();
  ASSERT_EQ(engine_->status().size(), 2u);
  EXPECT_EQ(engine_->status()[1].scope.Name(), "cgroup:/gone-configured");
  EXPECT_EQ(engine_->status()[1].sample_errors, 2u);
  EXPECT_EQ(Count(sink_.lines, "scope_removed scope=\"cgroup:/gone-auto\" reason=\"vanished\""),
            1u);
  EXPECT_EQ(Count(sink_.lines, "gone-auto\" error"), 0u);  // no sample warning for it
}

}  // namespace
}  // namespace reaperd::daemon
