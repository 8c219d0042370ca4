// A bounded background queue for slow read-only requests (previews that scan every profile), so
// they never hold an HTTP io thread. One worker; Submit answers Unavailable (-> 503) when full.
#pragma once

#include <deque>
#include <functional>
#include <thread>

#include "core/mutex.h"
#include "core/status.h"

namespace tessera::api {

class Background {
 public:
  explicit Background(size_t max_queued = 4);
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  Status Submit(std::function<void()> job);

 private:
  void Run();

  const size_t max_queued_;
  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> jobs_ TESSERA_GUARDED_BY(mu_);
  bool stopping_ TESSERA_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace tessera::api
