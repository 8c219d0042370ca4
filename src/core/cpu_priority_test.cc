#include "core/cpu_priority.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <thread>

namespace tessera {
namespace {

int Policy() {
  int policy = 0;
  sched_param param{};
  EXPECT_EQ(pthread_getschedparam(pthread_self(), &policy, &param), 0);
  return policy;
}

int Nice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())); }

// Each case on a thread of its own: priorities only ever go down for an unprivileged thread.
template <typename F>
void OnThread(F f) {
  std::thread t(f);
  t.join();
}

TEST(CpuPriorityTest, LowIsNiceTen) {
  OnThread([] {
    SetThreadCpuPriority(CpuPriority::kLow);
    EXPECT_EQ(Policy(), SCHED_OTHER);
    EXPECT_EQ(Nice(), 10);
  });
}

TEST(CpuPriorityTest, BackgroundIsSchedIdle) {
  OnThread([] {
    SetThreadCpuPriority(CpuPriority::kBackground);
    EXPECT_EQ(Policy(), SCHED_IDLE);
  });
}

TEST(CpuPriorityTest, WorkersKeepTheLowPolicyUnlessTold) {
  EXPECT_EQ(BackgroundCpuPolicy(), CpuPriority::kLow);
  OnThread([] {
    BackgroundCpu cpu(std::chrono::milliseconds(0));
    EXPECT_EQ(cpu.current(), CpuPriority::kLow);
    cpu.Update(false);
    cpu.Update(true);
    EXPECT_EQ(cpu.current(), CpuPriority::kLow);
    EXPECT_EQ(Policy(), SCHED_OTHER);
  });
}

TEST(CpuPriorityTest, ABackgroundWorkerThatFallsBehindGetsASteadyShare) {
  SetBackgroundCpuPolicy(CpuPriority::kBackground);
  // Where a thread cannot leave SCHED_IDLE, the policy falls back to nice 10 for good.
  const bool idle = BackgroundCpuPolicy() == CpuPriority::kBackground;
  OnThread([idle] {
    BackgroundCpu cpu(std::chrono::milliseconds(50));
    EXPECT_EQ(Policy(), idle ? SCHED_IDLE : SCHED_OTHER);
    cpu.Update(false);  // behind, but not for long
    EXPECT_EQ(cpu.current(), BackgroundCpuPolicy());
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    cpu.Update(false);  // behind for longer than its patience
    EXPECT_EQ(cpu.current(), CpuPriority::kLow);
    EXPECT_EQ(Policy(), SCHED_OTHER);
    EXPECT_EQ(Nice(), 10);
    cpu.Update(true);  // caught up
    EXPECT_EQ(cpu.current(), BackgroundCpuPolicy());
    EXPECT_EQ(Policy(), idle ? SCHED_IDLE : SCHED_OTHER);
  });
  SetBackgroundCpuPolicy(CpuPriority::kLow);
}

}  // namespace
}  // namespace tessera
