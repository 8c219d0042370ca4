// TESSERA_CHECK stays on in release: use it where going on could corrupt accepted data.
// TESSERA_DCHECK is debug-only. Never use either on user input (STYLE.md rule 7).
#pragma once

#include <string_view>

namespace tessera::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, std::string_view msg);
}  // namespace tessera::internal

#define TESSERA_CHECK(cond, msg)                                              \
  do {                                                                        \
    if (!(cond)) [[unlikely]]                                                 \
      ::tessera::internal::CheckFailed(__FILE__, __LINE__, #cond, (msg));     \
  } while (0)

#ifdef NDEBUG
#define TESSERA_DCHECK(cond, msg) \
  do {                            \
  } while (0)
#else
#define TESSERA_DCHECK(cond, msg) TESSERA_CHECK(cond, msg)
#endif
