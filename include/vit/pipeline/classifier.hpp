// vit::Classifier: the C++ counterpart of Hugging Face's pipeline("image-classification") and of timm's
// create_model + resolve_data_config + create_transform. Built from a checkpoint (a .safetensors file, a
// timm or Hugging Face model folder, or a folder vit::train saved), it owns the model, the preprocessing the
// checkpoint expects and its class names, and takes image files, folders, decoded images or preprocessed
// tensors, in batches, on the CPU or a CUDA device.
//
//   const vit::Classifier classifier("deit_tiny_patch16_224.safetensors");
//   for (const vit::Classification& c : classifier.classify("cat.jpg", 3))
//     std::cout << c.label << " " << c.probability << "\n";
//
// Thread-safety: on the CPU every method is const and keeps nothing between calls, so one Classifier may
// serve several threads at once; each call uses PipelineOptions::threads OpenMP threads, so with T threads
// calling give each Classifier threads = cores / T (or 1) rather than oversubscribing the cores. On CUDA
// the calls are serialised (the device model reuses one workspace).
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vit/core/context.hpp"
#include "vit/core/dtype.hpp"
#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/cpu/parallel.hpp"
#include "vit/io/find_images.hpp"
#include "vit/io/image.hpp"
#include "vit/io/preprocess.hpp"
#include "vit/model/classification.hpp"
#include "vit/model/hf_config.hpp"
#include "vit/model/preprocessing.hpp"
#include "vit/model/vision_transformer.hpp"
#ifdef VIT_WITH_CUDA
#include "vit/cuda/cuda_model.hpp"
#include "vit/cuda/runtime.hpp"
#endif

namespace vit {

struct PipelineOptions {
  Device device = Device::CPU;  // Device::CUDA needs the program linked with vit::cuda
  DType dtype = DType::F32;     // activations on CUDA (fp32, fp16, bf16); the CPU computes in fp32
  int threads = Context{}.threads;
  int batch_size = 8;           // images per forward pass when given several
  bool decode_ahead = true;     // classify_files: decode the next batch on a second thread during this one's forward
  DecodeOptions decode;         // e.g. EXIF orientation, as HF's pipeline() applies it
  // The architecture, when the checkpoint's own (its config.json, else its tensor shapes) is not wanted:
  std::optional<ViTConfig> config;  // e.g. vit::preset("deit_small_patch16_224")
  std::string hf_config;            // or a Hugging Face config.json (its id2label gives the labels too)
  std::string labels;               // class names, one per line; default: the checkpoint's own, else indices
};

// One class of one image: HF pipeline's {"label", "score"}, with the index and the logit.
struct Classification {
  int index = 0;
  std::string label;      // the class name, or the index as text when the checkpoint has none
  float probability = 0;  // softmax over all classes
  float logit = 0;
};

// One input of Classifier::classify_files: its path, and either its classes or why it failed.
struct ImageClassification {
  std::string path;
  std::string error;  // non-empty: this input failed (its message names it); `top` is then empty
  std::vector<Classification> top;
  bool ok() const { return error.empty(); }
};

class Classifier {
 public:
  // checkpoint: a .safetensors file (timm or HF naming) or a folder holding model.safetensors with its
  // config.json (and preprocessor_config.json). Throws vit::Error for anything that cannot be loaded,
  // before any device memory is taken.
  explicit Classifier(const std::string& checkpoint, PipelineOptions options = {})
      : checkpoint_(checkpoint), options_(std::move(options)) {
    VIT_CHECK(options_.threads > 0, "Classifier: threads must be positive, got ", options_.threads);
    VIT_CHECK(options_.batch_size > 0, "Classifier: batch_size must be positive, got ", options_.batch_size);
    VIT_CHECK(options_.device == Device::CUDA || options_.dtype == DType::F32, "Classifier: the CPU computes in fp32; ",
              dtype_name(options_.dtype), " needs Device::CUDA");
    VIT_CHECK(!(options_.config && !options_.hf_config.empty()),
              "Classifier: give the architecture as a ViTConfig or as a config.json, not both");
#ifdef VIT_WITH_CUDA
    if (options_.device == Device::CUDA) cuda::require_device();  // fail before the weights are read
#else
    VIT_CHECK(options_.device == Device::CPU,
              "Classifier: Device::CUDA asked for, but this program is built without the CUDA backend (link vit::cuda)");
#endif
    model_ = std::make_unique<Model>(load());
    preprocessing_ = preprocessing_for_checkpoint(checkpoint_, model_->config(), model_->naming());
    if (!options_.labels.empty())
      set_labels(load_labels(options_.labels), options_.labels);
    else if (!options_.hf_config.empty())
      set_labels(labels_from_hf_config(options_.hf_config), options_.hf_config);
    else
      set_labels(labels_for_checkpoint(checkpoint_, model_->naming()),
                 (checkpoint_folder(checkpoint_) / "config.json").string());
#ifdef VIT_WITH_CUDA
    if (options_.device == Device::CUDA) {
      cuda_ = std::make_unique<cuda::CudaModel>(*model_, options_.dtype);
      cuda_mutex_ = std::make_unique<std::mutex>();
    }
#endif
  }

  const std::string& checkpoint() const { return checkpoint_; }
  const PipelineOptions& options() const { return options_; }
  const Model& model() const { return *model_; }
  const ViTConfig& config() const { return model_->config(); }
  const Preprocessing& preprocessing() const { return preprocessing_; }
  // The class names, one per class; empty when the checkpoint has none.
  const std::vector<std::string>& labels() const { return labels_; }
  std::string label(int index) const {
    VIT_CHECK(index >= 0 && index < config().num_classes, "Classifier: class ", index, " is out of range (the model has ",
              config().num_classes, " classes)");
    return labels_.empty() ? std::to_string(index) : labels_[std::size_t(index)];
  }
  // Replaces the class names (one per class); `source` names where they came from, for the error message.
  void set_labels(std::vector<std::string> labels, const std::string& source = "labels") {
    VIT_CHECK(labels.empty() || labels.size() == std::size_t(config().num_classes), source, " has ", labels.size(),
              " labels but the model has ", config().num_classes, " classes");
    labels_ = std::move(labels);
  }
  // What its work on the CPU (preprocessing, the CPU forward and backward) runs with: options().threads.
  Context context() const {
    Context context;
    context.threads = options_.threads;
    return context;
  }

  // An image file decoded as the options say, refused here (vit::Error naming the file) when the
  // preprocessing cannot take it, so that it fails alone rather than with its batch.
  Image load_image(const std::string& path) const {
    Image image = ::vit::load_image(path, options_.decode);
    try {
      (void)preprocessing_.resized_size(image.width, image.height);
    } catch (const Error& error) {
      throw Error(path + ": " + error.what());
    }
    return image;
  }
  // An image file decoded, resized and cropped as the checkpoint expects (full-size pixels freed at once).
  Image load_crop(const std::string& path) const {
    const Image image = load_image(path);
    try {
      return resize_and_crop(image, preprocessing_);
    } catch (const Error& error) {
      throw Error(path + ": " + error.what());
    }
  }
  // images → [B, C, H, W], resized, cropped and normalised as the checkpoint expects.
  Tensor<float> preprocess(const std::vector<Image>& images) const { return ::vit::preprocess(images, preprocessing_, context()); }

  // The forward pass on the chosen device. images: [B, C, H, W] preprocessed.
  ForwardResult<float> forward(TensorView<const float> images, const ForwardOptions& options = {}) const {
#ifdef VIT_WITH_CUDA
    if (cuda_) {
      const std::lock_guard<std::mutex> lock(*cuda_mutex_);
      return cuda_->forward(images, options);
    }
#endif
    return model_->forward(images, options, context());
  }

  // The top_k classes, most probable first.
  std::vector<Classification> classify(const std::string& image_path, int top_k = 5) const {
    return classify(load_image(image_path), top_k);
  }
  std::vector<Classification> classify(const Image& image, int top_k = 5) const {
    return std::move(classify(std::vector<Image>{image}, top_k).front());
  }
  // Per image, in order; run batch_size images at a time.
  std::vector<std::vector<Classification>> classify(const std::vector<Image>& images, int top_k = 5) const {
    std::vector<std::vector<Classification>> results;
    for (std::size_t begin = 0; begin < images.size(); begin += std::size_t(options_.batch_size)) {
      const std::size_t end = std::min(images.size(), begin + std::size_t(options_.batch_size));
      const std::vector<Image> batch(images.begin() + std::ptrdiff_t(begin), images.begin() + std::ptrdiff_t(end));
      for (auto& top : classify(preprocess(batch), top_k)) results.push_back(std::move(top));
    }
    return results;
  }
  // images: [B, C, H, W] already preprocessed (one forward pass, whatever B).
  std::vector<std::vector<Classification>> classify(TensorView<const float> images, int top_k = 5) const {
    require_head();
    return top_classes(forward(images).logits, top_k);
  }
  // logits [B, classes] → per row, the top_k classes with their labels.
  std::vector<std::vector<Classification>> top_classes(TensorView<const float> logits, int top_k) const {
    VIT_CHECK(top_k > 0, "classify: top_k must be positive, got ", top_k);
    std::vector<std::vector<Classification>> results;
    for (const std::vector<Prediction>& predictions : ::vit::top_k(logits, top_k)) {
      std::vector<Classification> top;
      for (const Prediction& p : predictions) top.push_back({p.index, label(p.index), p.probability, p.logit});
      results.push_back(std::move(top));
    }
    return results;
  }

  // Image files and folders (searched recursively, see vit::expand_image_inputs), batch_size at a time.
  // An input that fails (unreadable, not an image, a folder entry that cannot be examined) gets its error
  // and the others go on; `on_result` is called once per input, in input order, as each batch finishes.
  void classify_files(const std::vector<std::string>& paths, int top_k,
                      const std::function<void(const ImageClassification&)>& on_result) const {
    classify_files(expand_image_inputs(paths), top_k, on_result);
  }
  std::vector<ImageClassification> classify_files(const std::vector<std::string>& paths, int top_k = 5) const {
    std::vector<ImageClassification> results;
    classify_files(paths, top_k, [&](const ImageClassification& result) { results.push_back(result); });
    return results;
  }
  // The same for inputs already listed (a tool that counts them first for its progress bar).
  // With decode_ahead (the default) the next batch is decoded on a second thread while the model computes
  // this one; the results are the same either way.
  void classify_files(std::vector<ImageInput> inputs, int top_k,
                      const std::function<void(const ImageClassification&)>& on_result) const {
    require_head();
    VIT_CHECK(top_k > 0, "classify: top_k must be positive, got ", top_k);
    std::size_t next_input = 0;  // touched only by the one gather_batch running at a time
    const auto gather = [&] { return gather_batch(inputs, next_input); };
    std::future<FileBatch> next;  // a pending one is waited for by its destructor, also when on_result throws
    FileBatch batch = gather();
    while (!batch.entries.empty()) {
      if (options_.decode_ahead && next_input < inputs.size()) next = std::async(std::launch::async, gather);
      classify_batch(batch, top_k);
      for (const ImageClassification& result : batch.entries) on_result(result);
      batch = next.valid() ? next.get() : gather();  // get() rethrows what the decoding thread threw
    }
  }

 private:
  // The entries of one step of classify_files, failures included, in input order, and the crops of those
  // that decoded (owners[i]: the entry of crops[i]).
  struct FileBatch {
    std::vector<ImageClassification> entries;
    std::vector<Image> crops;
    std::vector<std::size_t> owners;
  };
  // Decodes inputs from `next` on until batch_size of them decoded (or the inputs end), options().threads
  // images at a time. Each image is resized and cropped as soon as it is decoded, so a batch holds crops,
  // never full-size photographs: memory does not grow with their resolution or with batch_size.
  FileBatch gather_batch(std::vector<ImageInput>& inputs, std::size_t& next) const {
    FileBatch batch;
    while (next < inputs.size() && batch.crops.size() < std::size_t(options_.batch_size)) {
      // As many inputs as crops are missing (failures make the next round); the batches end where a
      // one-by-one decoder's would.
      const std::size_t first = next;
      const std::size_t count = std::min(inputs.size() - next, std::size_t(options_.batch_size) - batch.crops.size());
      next += count;
      std::vector<Image> crops(count);
      std::vector<std::string> errors(count);
      std::atomic<std::size_t> cursor{0};  // images of varied sizes: each thread takes the next one
      cpu::parallel_for(options_.threads, std::int64_t(count), 1, [&](std::int64_t, std::int64_t) {
        for (std::size_t i; (i = cursor++) < count;) {
          const ImageInput& input = inputs[first + i];
          if (!input.error.empty()) continue;
          try {
            crops[i] = load_crop(input.path);
          } catch (const Error& error) {
            errors[i] = error.what();  // the message already names the file
          } catch (const std::bad_alloc&) {
            errors[i] = input.path + ": out of memory while decoding";
          } catch (const std::exception& error) {
            errors[i] = input.path + ": " + error.what();
          }
        }
      });
      for (std::size_t i = 0; i < count; ++i) {
        ImageInput& input = inputs[first + i];
        ImageClassification entry{std::move(input.path), std::move(input.error), {}};
        if (entry.ok() && errors[i].empty()) {
          batch.crops.push_back(std::move(crops[i]));
          batch.owners.push_back(batch.entries.size());
        } else if (entry.ok()) {
          entry.error = std::move(errors[i]);
        }
        batch.entries.push_back(std::move(entry));
      }
    }
    return batch;
  }
  // One forward pass over the batch's crops; if it fails (e.g. out of memory) its images fail, the run goes on.
  void classify_batch(FileBatch& batch, int top_k) const {
    if (batch.crops.empty()) return;
    try {
      std::vector<std::vector<Classification>> tops = classify(normalize_batch(batch.crops, preprocessing_), top_k);
      for (std::size_t i = 0; i < batch.owners.size(); ++i) batch.entries[batch.owners[i]].top = std::move(tops[i]);
    } catch (const std::exception& error) {
      for (std::size_t owner : batch.owners)
        batch.entries[owner].error = batch.entries[owner].path + ": " + error.what();
    }
  }

  // A model without a head (features only) still loads, for vit::Explainer's class-blind maps.
  void require_head() const {
    VIT_CHECK(config().num_classes > 0, checkpoint_, ": the model has no classification head, so there is nothing to classify");
  }
  Model load() const {
    if (options_.config) return load_model(checkpoint_, *options_.config);
    if (!options_.hf_config.empty()) return load_model(checkpoint_, load_hf_config(options_.hf_config));
    return load_model(checkpoint_);
  }

  std::string checkpoint_;
  PipelineOptions options_;
  std::unique_ptr<Model> model_;  // on the heap: the CUDA model points at it, and the Classifier may move
  Preprocessing preprocessing_;
  std::vector<std::string> labels_;
#ifdef VIT_WITH_CUDA
  std::unique_ptr<cuda::CudaModel> cuda_;
  std::unique_ptr<std::mutex> cuda_mutex_;
#endif
};

}  // namespace vit
