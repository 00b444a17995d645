#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vit/core/dtype.hpp>

#include "support.hpp"

using vit::BFloat16;
using vit::Half;

TEST_CASE("half: every bit pattern survives half -> float -> half", "[dtype]") {
  for (std::uint32_t bits = 0; bits < 0x10000u; ++bits) {
    const Half half{std::uint16_t(bits)};
    const float value = vit::to_float(half);
    if (std::isnan(value)) {
      CHECK(std::isnan(vit::to_float(vit::to_half(value))));
      continue;
    }
    INFO("bits 0x" << std::hex << bits);
    REQUIRE(vit::to_half(value).bits == bits);
  }
}

TEST_CASE("half: known values and rounding to nearest even", "[dtype]") {
  CHECK(vit::to_half(1.0f).bits == 0x3c00);
  CHECK(vit::to_half(-2.0f).bits == 0xc000);
  CHECK(vit::to_half(65504.0f).bits == 0x7bff);                 // largest finite
  CHECK(vit::to_half(65520.0f).bits == 0x7c00);                 // rounds up to infinity
  CHECK(vit::to_half(5.9604644775390625e-8f).bits == 0x0001);   // smallest subnormal
  CHECK(vit::to_half(2.98023223876953125e-8f).bits == 0x0000);  // half of it: tie to even (zero)
  CHECK(vit::to_half(1.0f + 1.0f / 2048).bits == 0x3c00);       // tie between 1 and 1+2^-10: to even
  CHECK(vit::to_half(1.0f + 3.0f / 2048).bits == 0x3c02);       // tie: to even (up)
  CHECK(vit::to_float(Half{0x3555}) == Approx(0.333251953125f));
  CHECK(vit::to_half(std::numeric_limits<float>::infinity()).bits == 0x7c00);
}

TEST_CASE("bfloat16: truncation with round to nearest even", "[dtype]") {
  CHECK(vit::to_bfloat16(1.0f).bits == 0x3f80);
  CHECK(vit::to_float(BFloat16{0x3f80}) == 1.0f);
  CHECK(vit::to_bfloat16(vit::bits_float(0x3f808000u)).bits == 0x3f80);  // tie: to even (down)
  CHECK(vit::to_bfloat16(vit::bits_float(0x3f818000u)).bits == 0x3f82);  // tie: to even (up)
  CHECK(vit::to_bfloat16(vit::bits_float(0x3f808001u)).bits == 0x3f81);  // above the tie: up
  CHECK(std::isnan(vit::to_float(vit::to_bfloat16(std::numeric_limits<float>::quiet_NaN()))));
  for (std::uint32_t bits = 0; bits < 0x10000u; bits += 7) {
    const float value = vit::to_float(BFloat16{std::uint16_t(bits)});
    if (!std::isnan(value)) REQUIRE(vit::to_bfloat16(value).bits == bits);
  }
}

TEST_CASE("parse_dtype reads the tools' spellings and names the valid ones otherwise", "[dtype]") {
  CHECK(vit::parse_dtype("fp32") == vit::DType::F32);
  CHECK(vit::parse_dtype("fp16") == vit::DType::F16);
  CHECK(vit::parse_dtype("bf16") == vit::DType::BF16);
  VIT_REQUIRE_ERROR(vit::parse_dtype("FP32"), Catch::Contains("expected fp32, fp16 or bf16"));
  VIT_REQUIRE_ERROR(vit::parse_dtype("float64"), Catch::Contains("unknown dtype 'float64'"));
}

TEST_CASE("store_as / load_as round-trip each dtype's bytes", "[dtype]") {
  unsigned char bytes[4] = {};
  vit::store_as(vit::DType::F32, 1.5f, bytes);
  CHECK(vit::load_as(vit::DType::F32, bytes) == 1.5f);
  vit::store_as(vit::DType::F16, 1.0f + 1.0f / 1024, bytes);  // exactly representable in fp16
  CHECK(vit::load_as(vit::DType::F16, bytes) == 1.0f + 1.0f / 1024);
  vit::store_as(vit::DType::BF16, 1.0f + 1.0f / 1024, bytes);  // rounds to 1 in bf16 (7 fraction bits)
  CHECK(vit::load_as(vit::DType::BF16, bytes) == 1.0f);
}
