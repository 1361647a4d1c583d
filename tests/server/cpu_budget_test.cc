#include "server/cpu_budget.h"

#include <unistd.h>

#include "gtest/gtest.h"

namespace esgw {
namespace {

TEST(CpuBudgetTest, QuotaOverPeriodRoundsUp) {
  EXPECT_EQ(CpusFromCgroupMax("200000 100000\n"), 2);
  EXPECT_EQ(CpusFromCgroupMax("150000 100000"), 2);
  EXPECT_EQ(CpusFromCgroupMax("50000 100000"), 1);
  EXPECT_EQ(CpusFromCgroupMax("100000 100000"), 1);
}

TEST(CpuBudgetTest, NoLimitOrGarbageIsNoAnswer) {
  EXPECT_EQ(CpusFromCgroupMax("max 100000"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupMax(""), std::nullopt);
  EXPECT_EQ(CpusFromCgroupMax("100000"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupMax("0 100000"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupMax("100000 0"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupMax("-5 100000"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupMax("1 2 3"), std::nullopt);
}

TEST(CpuBudgetTest, UsableCpusIsAtLeastOneAndAtMostTheMachine) {
  const int cpus = UsableCpus();
  EXPECT_GE(cpus, 1);
  EXPECT_LE(cpus, static_cast<int>(sysconf(_SC_NPROCESSORS_CONF)));
}

}  // namespace
}  // namespace esgw
