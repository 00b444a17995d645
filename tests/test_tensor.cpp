#include <catch2/catch.hpp>

#include <vit/core.hpp>

TEST_CASE("tensor: shape, zero fill, views, slices and reshape", "[tensor]") {
  vit::Tensor<float> tensor({2, 3, 4});
  CHECK(tensor.numel() == 24);
  CHECK(tensor.shape() == vit::Shape{2, 3, 4});
  CHECK(tensor.shape().to_string() == "[2, 3, 4]");
  for (std::int64_t i = 0; i < tensor.numel(); ++i) REQUIRE(tensor[i] == 0.0f);
  for (std::int64_t i = 0; i < tensor.numel(); ++i) tensor[i] = float(i);

  const vit::TensorView<const float> view = tensor;
  const auto second = view.slice(1);
  CHECK(second.shape() == vit::Shape{3, 4});
  CHECK(second[0] == 12.0f);
  const auto rows = view.reshape({6, 4}).rows(2, 5);
  CHECK(rows.shape() == vit::Shape{3, 4});
  CHECK(rows[0] == 8.0f);
  CHECK(reinterpret_cast<std::uintptr_t>(tensor.data()) % 64 == 0);

  const vit::Tensor<float> copy = tensor.clone();
  CHECK(copy.data() != tensor.data());
  CHECK(copy[23] == 23.0f);
}

TEST_CASE("tensor: bad reshapes and shape expectations throw vit::Error", "[tensor][errors]") {
  vit::Tensor<float> tensor({2, 3});
  CHECK_THROWS_AS(tensor.view().reshape({4, 2}), vit::Error);
  CHECK_THROWS_WITH(tensor.view().expect_shape({3, 2}, "weights"),
                    Catch::Contains("weights") && Catch::Contains("[3, 2]") && Catch::Contains("[2, 3]"));
  CHECK_THROWS_AS(vit::Shape({1, 2, 3, 4, 5, 6, 7}), vit::Error);
  CHECK_THROWS_AS(vit::Shape({-1}), vit::Error);
}
