// Element types and devices.
//
// The CPU backend computes in float. Half and BFloat16 are 16-bit *storage* types: checkpoints may
// hold them, and the CUDA backend uses them for activations. Conversions are exact where the
// target can represent the value and round to nearest-even otherwise (as PyTorch's .half()/.bfloat16()).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "vit/core/error.hpp"

namespace vit {

enum class DType { F32, F16, BF16 };
enum class Device { CPU, CUDA };

// IEEE 754 binary16, stored as raw bits.
struct Half {
  std::uint16_t bits = 0;
};

// bfloat16: the upper 16 bits of an IEEE binary32.
struct BFloat16 {
  std::uint16_t bits = 0;
};

inline std::size_t dtype_size(DType dtype) { return dtype == DType::F32 ? 4 : 2; }

inline std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
  }
  return "?";
}

// "fp32", "fp16" or "bf16" (the spelling of the tools' --dtype) → DType; anything else is a vit::Error.
inline DType parse_dtype(std::string_view name) {
  if (name == "fp32") return DType::F32;
  if (name == "fp16") return DType::F16;
  if (name == "bf16") return DType::BF16;
  detail::fail("unknown dtype '", name, "': expected fp32, fp16 or bf16");
}

inline std::string_view device_name(Device device) { return device == Device::CPU ? "cpu" : "cuda"; }

template <typename T>
constexpr DType dtype_of() {
  using U = std::remove_const_t<T>;
  if constexpr (std::is_same_v<U, float>)
    return DType::F32;
  else if constexpr (std::is_same_v<U, Half>)
    return DType::F16;
  else {
    static_assert(std::is_same_v<U, BFloat16>, "vit tensors hold float, vit::Half or vit::BFloat16");
    return DType::BF16;
  }
}

inline std::uint32_t float_bits(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

inline float bits_float(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

inline float to_float(BFloat16 value) { return bits_float(std::uint32_t(value.bits) << 16); }

inline BFloat16 to_bfloat16(float value) {
  std::uint32_t bits = float_bits(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return BFloat16{std::uint16_t((bits >> 16) | 0x40)};  // quiet NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest, ties to even
  return BFloat16{std::uint16_t(bits >> 16)};
}

inline float to_float(Half value) {
  const std::uint32_t sign = std::uint32_t(value.bits & 0x8000u) << 16;
  const std::uint32_t exponent = (value.bits >> 10) & 0x1fu;
  std::uint32_t mantissa = value.bits & 0x3ffu;
  if (exponent == 0x1f) return bits_float(sign | 0x7f800000u | (mantissa << 13));  // inf / NaN
  if (exponent != 0) return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return bits_float(sign);  // signed zero
  // Subnormal half: value = mantissa * 2^-24, exactly representable as a float.
  const float magnitude = float(mantissa) * 5.9604644775390625e-8f;
  return sign ? -magnitude : magnitude;
}

inline Half to_half(float value) {
  const std::uint32_t bits = float_bits(value);
  const std::uint16_t sign = std::uint16_t((bits >> 16) & 0x8000u);
  const std::uint32_t abs_bits = bits & 0x7fffffffu;
  if (abs_bits > 0x7f800000u) return Half{std::uint16_t(sign | 0x7e00u)};   // NaN
  if (abs_bits >= 0x477ff000u) return Half{std::uint16_t(sign | 0x7c00u)};  // rounds to inf
  if (abs_bits < 0x38800000u) {
    // The result is subnormal (or zero) in half precision: count units of 2^-24, rounding to nearest
    // even. Adding 0.5f does exactly that in hardware, because the float ulp in [0.5, 1) is 2^-24.
    const std::uint32_t shifted = float_bits(bits_float(abs_bits) + 0.5f);
    return Half{std::uint16_t(sign | (shifted - 0x3f000000u))};
  }
  std::uint32_t rounded = abs_bits + 0xfffu + ((abs_bits >> 13) & 1u);  // round to nearest even at bit 13
  return Half{std::uint16_t(sign | ((rounded - 0x38000000u) >> 13))};
}

template <typename T>
inline float to_float_any(T value) {
  if constexpr (std::is_same_v<T, float>)
    return value;
  else
    return to_float(value);
}

template <typename T>
inline T from_float(float value) {
  if constexpr (std::is_same_v<T, float>)
    return value;
  else if constexpr (std::is_same_v<T, Half>)
    return to_half(value);
  else
    return to_bfloat16(value);
}

// Raw storage of one element of `dtype` (4 or 2 bytes at `out`), and back: for byte buffers that hold a
// dtype chosen at run time (device uploads).
inline void store_as(DType dtype, float value, void* out) {
  std::uint16_t bits = 0;
  if (dtype == DType::F32) {
    std::memcpy(out, &value, sizeof value);
    return;
  }
  bits = dtype == DType::F16 ? to_half(value).bits : to_bfloat16(value).bits;
  std::memcpy(out, &bits, sizeof bits);
}

inline float load_as(DType dtype, const void* in) {
  float value = 0;
  std::uint16_t bits = 0;
  if (dtype == DType::F32) {
    std::memcpy(&value, in, sizeof value);
    return value;
  }
  std::memcpy(&bits, in, sizeof bits);
  return dtype == DType::F16 ? to_float(Half{bits}) : to_float(BFloat16{bits});
}

}  // namespace vit
