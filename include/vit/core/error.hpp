// vit::Error — the one exception type the library throws for bad input and failed checks.
//
// Messages say what was wrong and where: the file, the tensor name, expected vs got.
// VIT_CHECK(cond, parts...) builds the message only when the check fails, so it costs a
// branch on the happy path and can be used freely at API boundaries (never in inner loops).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace vit {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

// Concatenates any streamable values into one string: concat("got ", 3, " dims") == "got 3 dims".
template <typename... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

template <typename... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  throw Error(concat(std::forward<Parts>(parts)...));
}

}  // namespace detail
}  // namespace vit

// Throws vit::Error with the concatenated message parts when `condition` is false.
#define VIT_CHECK(condition, ...)                 \
  do {                                            \
    if (!(condition)) ::vit::detail::fail(__VA_ARGS__); \
  } while (false)
