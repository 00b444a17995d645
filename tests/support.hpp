// Test helpers: fixture paths, deterministic random tensors, and tensor comparison that reports
// the max absolute/relative error and the first index out of tolerance.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>

#include <vit/core.hpp>

#include "random_model.hpp"

namespace vit::test {

inline std::string data_path(const std::string& name) { return std::string(VIT_TEST_DATA_DIR) + "/" + name; }

// ../shared (models, images, labels) beside the checkout; empty when absent.
inline std::string shared_path(const std::string& name) {
  const std::filesystem::path path = std::filesystem::path(VIT_SHARED_DIR) / name;
  return std::filesystem::exists(path) ? path.string() : std::string();
}

struct Comparison {
  double max_abs = 0, max_rel = 0;
  std::int64_t first_bad = -1, count_bad = 0;
  std::string describe(TensorView<const float> actual, TensorView<const float> expected) const {
    std::ostringstream out;
    out << "max abs error " << max_abs << ", max rel error " << max_rel;
    if (first_bad >= 0)
      out << "; " << count_bad << " values out of tolerance, first at flat index " << first_bad << " (got "
          << actual[first_bad] << ", expected " << expected[first_bad] << ")";
    return out.str();
  }
};

// |actual - expected| <= abs_tolerance element-wise (NaN never passes).
inline Comparison compare(TensorView<const float> actual, TensorView<const float> expected, double abs_tolerance) {
  Comparison result;
  for (std::int64_t i = 0; i < expected.numel(); ++i) {
    const double error = std::abs(double(actual[i]) - double(expected[i]));
    const double relative = error / std::max(1e-12, std::abs(double(expected[i])));
    if (error > result.max_abs || std::isnan(error)) result.max_abs = error;
    result.max_rel = std::max(result.max_rel, relative);
    if (!(error <= abs_tolerance)) {
      if (result.first_bad < 0) result.first_bad = i;
      ++result.count_bad;
    }
  }
  return result;
}

}  // namespace vit::test

// Requires `expression` to throw vit::Error whose message satisfies the Catch string `matcher`.
#define VIT_REQUIRE_ERROR(expression, matcher)                       \
  do {                                                               \
    bool vit_threw = false;                                          \
    try {                                                            \
      (void)(expression);                                            \
    } catch (const ::vit::Error& vit_error) {                        \
      vit_threw = true;                                              \
      REQUIRE_THAT(std::string(vit_error.what()), matcher);          \
    }                                                                \
    if (!vit_threw) FAIL("expected vit::Error from " #expression);   \
  } while (false)

// Checks shapes, then every element within `tolerance`; on failure prints the error summary.
#define VIT_REQUIRE_CLOSE(actual, expected, tolerance)                                                   \
  do {                                                                                                   \
    const auto& vit_actual = (actual); /* binds (and keeps alive) a temporary tensor */                  \
    const auto& vit_expected = (expected);                                                               \
    const ::vit::TensorView<const float> vit_actual_view = vit_actual;                                   \
    const ::vit::TensorView<const float> vit_expected_view = vit_expected;                               \
    REQUIRE(vit_actual_view.shape() == vit_expected_view.shape());                                       \
    const auto vit_comparison = ::vit::test::compare(vit_actual_view, vit_expected_view, (tolerance));   \
    INFO(vit_comparison.describe(vit_actual_view, vit_expected_view));                                   \
    CHECK(vit_comparison.count_bad == 0);                                                                \
  } while (false)
