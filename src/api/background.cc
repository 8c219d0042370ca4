#include "api/background.h"

#include <pthread.h>

namespace tessera::api {

Background::Background(size_t max_queued) : max_queued_(max_queued) {
  worker_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tsr-background");
    Run();
  });
}

Background::~Background() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  worker_.join();
}

Status Background::Submit(std::function<void()> job) {
  MutexLock lock(&mu_);
  if (stopping_ || jobs_.size() >= max_queued_) {
    return Status::Unavailable("too many previews running; retry shortly");
  }
  jobs_.push_back(std::move(job));
  cv_.SignalAll();
  return Status::Ok();
}

void Background::Run() {
  for (;;) {
    std::function<void()> job;
    {
      MutexLock lock(&mu_);
      while (jobs_.empty() && !stopping_) cv_.Wait(&mu_);
      if (jobs_.empty()) return;  // stopping, and every queued job ran
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace tessera::api
