// What the data loader reads from: a Dataset hands out decoded samples by index, from any thread.
//
// A sample is an 8-bit RGB image (grey sources replicated, as PIL's convert("RGB") does) and its class.
// The transforms (transforms.hpp) turn it into the model's normalised [C, H, W] floats; keeping the
// dataset at 8 bits lets every geometric step run on the bytes exactly as PIL would.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/io/image.hpp"

namespace vit {

struct Sample {
  Image image;    // [H, W, 3] RGB bytes
  int label = 0;  // class index in [0, num_classes)
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual std::int64_t size() const = 0;
  virtual int num_classes() const = 0;

  // Sample `index` (0 <= index < size()). Called concurrently by the loader's threads, so it must be
  // thread-safe. std::nullopt means the sample is unreadable and is left out (the dataset warns and
  // counts it); anything thrown is a real failure and reaches the loader's caller.
  virtual std::optional<Sample> load(std::int64_t index) const = 0;

  // The class of sample `index`, without decoding it.
  virtual int label(std::int64_t index) const = 0;
};

// A view of some of another dataset's samples, in the given order: the first 5,000 training images,
// a validation split. The parent must outlive the subset.
class Subset : public Dataset {
 public:
  Subset(const Dataset& parent, std::vector<std::int64_t> indices) : parent_(&parent), indices_(std::move(indices)) {
    for (std::int64_t index : indices_)
      VIT_CHECK(index >= 0 && index < parent.size(), "subset: index ", index, " is outside the dataset's ",
                parent.size(), " samples");
  }

  // Samples [0, count) of `parent`.
  static Subset first(const Dataset& parent, std::int64_t count) {
    VIT_CHECK(count >= 0 && count <= parent.size(), "subset: asked for the first ", count, " samples of a dataset of ",
              parent.size());
    std::vector<std::int64_t> indices(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) indices[std::size_t(i)] = i;
    return Subset(parent, std::move(indices));
  }

  std::int64_t size() const override { return std::int64_t(indices_.size()); }
  int num_classes() const override { return parent_->num_classes(); }
  std::optional<Sample> load(std::int64_t index) const override { return parent_->load(parent_index(index)); }
  int label(std::int64_t index) const override { return parent_->label(parent_index(index)); }

  std::int64_t parent_index(std::int64_t index) const { return indices_[std::size_t(index)]; }

 private:
  const Dataset* parent_;
  std::vector<std::int64_t> indices_;
};

}  // namespace vit
