#include "core/cpu_priority.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

namespace tessera {
namespace {

std::atomic<CpuPriority> background_policy{CpuPriority::kLow};

// 0 or an errno. Nice 10 comes first in both cases: leaving SCHED_IDLE is then allowed where
// RLIMIT_NICE allows nice 10 (or with CAP_SYS_NICE), and kLow needs no second step.
int SetPriority(CpuPriority priority) {
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10) != 0) return errno;
  sched_param param{};
  return pthread_setschedparam(
      pthread_self(), priority == CpuPriority::kBackground ? SCHED_IDLE : SCHED_OTHER, &param);
}

}  // namespace

void SetThreadCpuPriority(CpuPriority priority) {
  int rc = SetPriority(priority);
  static std::atomic<bool> warned{false};
  if (rc != 0 && !warned.exchange(true)) {
    spdlog::warn("cannot set a background thread's CPU priority: {}", std::strerror(rc));
  }
}

void SetBackgroundCpuPolicy(CpuPriority priority) {
  if (priority == CpuPriority::kBackground) {
    // A worker that falls behind leaves SCHED_IDLE (BackgroundCpu); where the kernel would
    // refuse that, staying at nice 10 is the safer choice: never starved.
    int rc = 0;
    std::thread probe([&rc] {
      rc = SetPriority(CpuPriority::kBackground);
      if (rc == 0) rc = SetPriority(CpuPriority::kLow);
    });
    probe.join();
    if (rc != 0) {
      spdlog::info("background workers run at nice 10, not SCHED_IDLE: a thread cannot leave "
                   "SCHED_IDLE here ({}; it needs RLIMIT_NICE >= 10 or CAP_SYS_NICE)",
                   std::strerror(rc));
      priority = CpuPriority::kLow;
    }
  }
  background_policy.store(priority);
}

CpuPriority BackgroundCpuPolicy() { return background_policy.load(); }

BackgroundCpu::BackgroundCpu(std::chrono::steady_clock::duration patience)
    : patience_(patience),
      caught_up_at_(std::chrono::steady_clock::now()),
      keeping_up_(BackgroundCpuPolicy()),
      current_(keeping_up_) {
  SetThreadCpuPriority(current_);
}

void BackgroundCpu::Update(bool caught_up) {
  auto now = std::chrono::steady_clock::now();
  if (caught_up) caught_up_at_ = now;
  CpuPriority want = caught_up                           ? keeping_up_
                     : now - caught_up_at_ >= patience_ ? CpuPriority::kLow
                                                         : current_;
  if (want == current_) return;
  current_ = want;
  SetThreadCpuPriority(want);
}

}  // namespace tessera
