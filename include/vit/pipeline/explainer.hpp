// vit::Explainer: explanation maps for images, from a checkpoint, in the few lines a notebook takes.
// It wraps a vit::Classifier (model, preprocessing, labels, device) and adds: one forward pass per image
// that keeps every layer's attention (prepare), a map per method and class from it (explain), and the map
// drawn over the image or the crop the model saw (overlay).
//
//   const vit::Explainer explainer("deit_tiny_patch16_224.safetensors");
//   const vit::ExplainedImage image = explainer.prepare("dog_and_bird.png");
//   vit::ExplainOptions options;
//   options.method = vit::ExplanationMethod::TransformerAttribution;
//   const vit::ExplanationMap map = explainer.explain(image, options);  // class: the top-1
//   vit::save_png("explained.png", explainer.overlay(image, map));
//
// Class-blind maps (rollout, raw attention) come from the prepared forward pass, on the pipeline's device.
// Class-specific ones need the backward pass, which runs on the CPU model whatever the device. Thread-safety
// as vit::Classifier's.
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "vit/explain/colormap.hpp"
#include "vit/explain/explain.hpp"
#include "vit/explain/heatmap.hpp"
#include "vit/pipeline/classifier.hpp"

namespace vit {

// One image, decoded, preprocessed and run forward with every layer's attention kept.
struct ExplainedImage {
  std::string path;                 // empty when prepared from a decoded image
  Image image;                      // as decoded (upright when DecodeOptions::exif_orientation)
  Image crop;                       // the resized, cropped image the model saw
  Tensor<float> input;              // [1, C, H, W], normalised
  ForwardResult<float> forward;     // logits [1, classes] and attentions [1, heads, N, N] per layer
  std::vector<Classification> top;  // the most probable classes; empty for a model without a head
  PatchGrid grid;                   // the patch grid of the crop
};

// One map for one image: [grid_h, grid_w] raw relevance (rollout and grad-rollout: maximum 1).
struct ExplanationMap {
  Tensor<float> values;
  ExplanationMethod method = ExplanationMethod::Rollout;
  int target = -1;  // the class explained; -1 for the class-blind methods
};

struct OverlayOptions {
  Colormap colormap = Colormap::Jet;
  float alpha = 0.5f;    // weight of the map's colour over the image
  bool on_crop = false;  // draw over the crop the model saw instead of the whole image
};

class Explainer {
 public:
  explicit Explainer(const std::string& checkpoint, PipelineOptions options = {})
      : classifier_(checkpoint, std::move(options)) {}

  const Classifier& classifier() const { return classifier_; }
  const std::vector<std::string>& labels() const { return classifier_.labels(); }
  void set_labels(std::vector<std::string> labels, const std::string& source = "labels") {
    classifier_.set_labels(std::move(labels), source);
  }
  const Model& model() const { return classifier_.model(); }
  const ViTConfig& config() const { return classifier_.config(); }

  ExplainedImage prepare(const std::string& image_path, int top_k = 5) const {
    ExplainedImage prepared = prepare(classifier_.load_image(image_path), top_k);
    prepared.path = image_path;
    return prepared;
  }
  ExplainedImage prepare(Image image, int top_k = 5) const {
    const Preprocessing& preprocessing = classifier_.preprocessing();
    ExplainedImage prepared;
    prepared.image = std::move(image);
    prepared.crop = resize_and_crop(prepared.image, preprocessing);
    prepared.input = Tensor<float>::uninitialized({1, preprocessing.channels, prepared.crop.height, prepared.crop.width});
    normalize_into(prepared.crop, preprocessing, prepared.input.data());
    ForwardOptions options;
    options.attentions = true;
    prepared.forward = classifier_.forward(prepared.input, options);
    if (!prepared.forward.logits.empty())
      prepared.top = std::move(classifier_.top_classes(prepared.forward.logits, top_k).front());
    const int patch = config().patch_size;
    prepared.grid = {config().num_prefix_tokens(), prepared.crop.height / patch, prepared.crop.width / patch};
    return prepared;
  }

  // The map of options.method for `image`: options.targets holds at most one class (empty: the top-1).
  ExplanationMap explain(const ExplainedImage& image, const ExplainOptions& options = {}) const {
    VIT_CHECK(options.targets.size() <= 1, "explain: ", options.targets.size(),
              " target classes for one image (give one, or none for the top-1)");
    ExplanationMap map;
    map.method = options.method;
    if (is_class_specific(options.method)) {
      Explanation explanation = ::vit::explain(model(), image.input, options, classifier_.context());
      map.values = take_first(explanation.maps);
      map.target = explanation.targets.front();
      return map;
    }
    VIT_CHECK(config().class_token, "explain: the model has no class token, so there is no token row to explain");
    VIT_CHECK(options.start_layer >= 0 && options.start_layer < config().depth, "explain: start layer ",
              options.start_layer, " is outside [0, ", config().depth, ")");
    map.values = take_first(class_blind_maps(layer_views(image.forward.attentions), image.grid, options));
    return map;
  }

  // The map, scaled to its maximum, in colour over the image (or over the crop the model saw).
  Image overlay(const ExplainedImage& image, const ExplanationMap& map, const OverlayOptions& options = {}) const {
    const Tensor<float> shown = detail::scaled_to_maximum(map.values);
    return options.on_crop
               ? render_on_crop(image.crop, shown, options.colormap, options.alpha)
               : render_on_original(image.image, shown, classifier_.preprocessing(), options.colormap, options.alpha);
  }

 private:
  // [1, grid_h, grid_w] → [grid_h, grid_w]
  static Tensor<float> take_first(const Tensor<float>& maps) {
    Tensor<float> map = Tensor<float>::uninitialized({maps.size(1), maps.size(2)});
    std::copy_n(maps.data(), map.numel(), map.data());
    return map;
  }

  Classifier classifier_;
};

}  // namespace vit
