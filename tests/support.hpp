// Test helpers: fixture paths, and the Catch2 assertions over vit::Error and tensor comparison
// (compare.hpp, shared with the benchmarks).
#pragma once

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <utility>
#include <vector>
#include <vit/core.hpp>

#include "compare.hpp"
#include "random_model.hpp"

namespace vit::test {

inline std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, separator);) parts.push_back(part);
  return parts;
}

inline std::string data_path(const std::string& name) { return std::string(VIT_TEST_DATA_DIR) + "/" + name; }

// ../shared (models, images, labels) beside the checkout; empty when absent.
inline std::string shared_path(const std::string& name) {
  const std::filesystem::path path = std::filesystem::path(VIT_SHARED_DIR) / name;
  return std::filesystem::exists(path) ? path.string() : std::string();
}

// The eight shared images and the top-1 class the shared DeiT-tiny gives each (../shared/models/README.md).
inline const std::vector<std::pair<std::string, int>>& shared_images_top1() {
  static const std::vector<std::pair<std::string, int>> expected = {
      {"tench.jpg", 0}, {"magpie.jpeg", 18}, {"cheetah.jpg", 293}, {"panda.jpeg", 388},
      {"apple.jpg", 948}, {"both.png", 243}, {"dogbird.png", 161}, {"plane.png", 404}};
  return expected;
}

}  // namespace vit::test

// Requires `expression` to throw vit::Error whose message satisfies the Catch string `matcher`.
#define VIT_REQUIRE_ERROR(expression, matcher)                     \
  do {                                                             \
    bool vit_threw = false;                                        \
    try {                                                          \
      (void)(expression);                                          \
    } catch (const ::vit::Error& vit_error) {                      \
      vit_threw = true;                                            \
      REQUIRE_THAT(std::string(vit_error.what()), matcher);        \
    }                                                              \
    if (!vit_threw) FAIL("expected vit::Error from " #expression); \
  } while (false)

// Checks shapes, then every element within `tolerance`; on failure prints the error summary.
#define VIT_REQUIRE_CLOSE(actual, expected, tolerance)                                                 \
  do {                                                                                                 \
    const auto& vit_actual = (actual); /* binds (and keeps alive) a temporary tensor */                \
    const auto& vit_expected = (expected);                                                             \
    const ::vit::TensorView<const float> vit_actual_view = vit_actual;                                 \
    const ::vit::TensorView<const float> vit_expected_view = vit_expected;                             \
    REQUIRE(vit_actual_view.shape() == vit_expected_view.shape());                                     \
    const auto vit_comparison = ::vit::test::compare(vit_actual_view, vit_expected_view, (tolerance)); \
    INFO(vit_comparison.describe(vit_actual_view, vit_expected_view));                                 \
    CHECK(vit_comparison.count_bad == 0);                                                              \
  } while (false)
