// A downstream program that sees only vit's public headers and CMake package.
//   consumer                          a two-block model from random weights, one forward; zlib through IDX
//   consumer MODEL IMAGES LABELS WORK the pipeline on the real DeiT-tiny: from its timm file, and from a
//                                     Hugging Face folder (ViTForImageClassification naming, config.json with
//                                     id2label, preprocessor_config.json) written into WORK from it here;
//                                     each of the eight shared images gets its expected top-1
// Built with vit::cuda (when the package has it) it also asks for Device::CUDA: it must link, and then
// either run or report that there is no usable device.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>
#include <vit/train/data.hpp>
#include <vit/vit.hpp>

namespace {

int random_model() {
  vit::ViTConfig config = vit::preset("vit_tiny_patch16_224");
  config.depth = 2;
  config.num_classes = 3;
  std::vector<vit::Tensor<float>> storage;
  std::vector<vit::SafetensorsTensor> tensors;
  for (const vit::ExpectedWeight& weight : vit::expected_weights(config)) {
    storage.emplace_back(weight.shape);
    for (std::int64_t i = 0; i < storage.back().numel(); ++i) storage.back()[i] = 0.01f * float(i % 7);
  }
  std::size_t index = 0;
  for (const vit::ExpectedWeight& weight : vit::expected_weights(config)) tensors.push_back({weight.name, storage[index++]});
  const vit::Model model = vit::load_model(vit::SafetensorsFile::parse(vit::encode_safetensors(tensors)), config);
  const auto result = model.forward(vit::Tensor<float>({1, 3, 224, 224}));
  std::cout << "consumer: logits " << result.logits.shape() << "\n";
  try {
    (void)vit::read_idx("/nonexistent/train-images-idx3-ubyte.gz");
    return 1;
  } catch (const vit::Error& error) {
    std::cout << "consumer: " << error.what() << "\n";
  }
  return result.logits.shape() == vit::Shape{1, 3} ? 0 : 1;
}

// timm's name → transformers' ViTForImageClassification name (blocks.i.attn.qkv is split in three).
std::string hf_name(const std::string& timm) {
  static const std::map<std::string, std::string> top = {
      {"cls_token", "vit.embeddings.cls_token"},
      {"pos_embed", "vit.embeddings.position_embeddings"},
      {"patch_embed.proj.weight", "vit.embeddings.patch_embeddings.projection.weight"},
      {"patch_embed.proj.bias", "vit.embeddings.patch_embeddings.projection.bias"},
      {"norm.weight", "vit.layernorm.weight"},
      {"norm.bias", "vit.layernorm.bias"},
      {"head.weight", "classifier.weight"},
      {"head.bias", "classifier.bias"}};
  if (top.count(timm)) return top.at(timm);
  static const std::map<std::string, std::string> block = {
      {"norm1", "layernorm_before"},     {"attn.proj", "attention.output.dense"}, {"norm2", "layernorm_after"},
      {"mlp.fc1", "intermediate.dense"}, {"mlp.fc2", "output.dense"}};
  const std::size_t first = timm.find('.', 7), last = timm.rfind('.');  // blocks.<i>.<part>.<weight|bias>
  const std::string layer = timm.substr(7, first - 7), part = timm.substr(first + 1, last - first - 1);
  return "vit.encoder.layer." + layer + "." + block.at(part) + timm.substr(last);
}

// The timm checkpoint rewritten as a Hugging Face model folder.
void write_hf_folder(const vit::Model& model, const std::string& weights, const std::vector<std::string>& labels,
                     const std::filesystem::path& folder) {
  const vit::SafetensorsFile timm = vit::SafetensorsFile::open(weights);
  std::vector<vit::Tensor<float>> storage;
  std::vector<std::pair<std::string, std::size_t>> named;
  for (const vit::SafetensorsEntry& entry : timm.entries()) {
    vit::Tensor<float> values = timm.read_float(entry);
    if (entry.name.find(".attn.qkv.") == std::string::npos) {
      named.emplace_back(hf_name(entry.name), storage.size());
      storage.push_back(std::move(values));
      continue;
    }
    const std::string prefix = "vit.encoder.layer." + entry.name.substr(7, entry.name.find('.', 7) - 7) +
                               ".attention.attention.";
    const std::string suffix = entry.name.substr(entry.name.rfind('.'));
    const std::int64_t rows = values.size(0) / 3, row_size = values.numel() / values.size(0);
    const char* parts[] = {"query", "key", "value"};
    for (int part = 0; part < 3; ++part) {
      vit::Shape shape = values.shape();
      shape[0] = rows;
      vit::Tensor<float> slice(shape);
      std::copy_n(values.data() + part * rows * row_size, rows * row_size, slice.data());
      named.emplace_back(prefix + parts[part] + suffix, storage.size());
      storage.push_back(std::move(slice));
    }
  }
  std::vector<vit::SafetensorsTensor> tensors;
  for (const auto& [name, index] : named) tensors.push_back({name, storage[index]});
  std::filesystem::create_directories(folder);
  const std::vector<std::uint8_t> bytes = vit::encode_safetensors(tensors);
  std::ofstream(folder / "model.safetensors", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));

  const vit::ViTConfig& config = model.config();
  nlohmann::json id2label = nlohmann::json::object();
  for (std::size_t i = 0; i < labels.size(); ++i) id2label[std::to_string(i)] = labels[i];
  const nlohmann::json hf_config = {{"architectures", {"ViTForImageClassification"}},
                                    {"model_type", "vit"},
                                    {"hidden_size", config.embed_dim},
                                    {"num_hidden_layers", config.depth},
                                    {"num_attention_heads", config.num_heads},
                                    {"intermediate_size", config.mlp_dim},
                                    {"image_size", config.image_size},
                                    {"patch_size", config.patch_size},
                                    {"num_channels", 3},
                                    {"hidden_act", "gelu"},
                                    {"layer_norm_eps", config.layer_norm_eps},
                                    {"qkv_bias", true},
                                    {"id2label", id2label}};
  std::ofstream(folder / "config.json") << hf_config.dump(2);
  // facebook/deit-tiny-patch16-224's processor: resize to 256x256, centre crop 224, ImageNet mean and std.
  const nlohmann::json preprocessor = {{"image_processor_type", "DeiTImageProcessor"},
                                       {"do_resize", true},
                                       {"size", {{"height", 256}, {"width", 256}}},
                                       {"resample", 3},
                                       {"do_center_crop", true},
                                       {"crop_size", {{"height", 224}, {"width", 224}}},
                                       {"do_rescale", true},
                                       {"rescale_factor", 1.0 / 255},
                                       {"do_normalize", true},
                                       {"image_mean", {0.485, 0.456, 0.406}},
                                       {"image_std", {0.229, 0.224, 0.225}}};
  std::ofstream(folder / "preprocessor_config.json") << preprocessor.dump(2);
}

// The eight shared images' expected top-1 (../shared/models/README.md); failures counted.
int check_top1(const vit::Classifier& classifier, const std::string& images, const std::string& what) {
  const std::map<std::string, int> expected = {{"tench.jpg", 0},   {"magpie.jpeg", 18}, {"cheetah.jpg", 293},
                                               {"panda.jpeg", 388}, {"apple.jpg", 948},  {"both.png", 243},
                                               {"dogbird.png", 161}, {"plane.png", 404}};
  int failures = 0, checked = 0;
  for (const vit::ImageClassification& result : classifier.classify_files({images}, 1)) {
    const std::string name = std::filesystem::path(result.path).filename().string();
    if (!expected.count(name)) continue;
    ++checked;
    const bool right = result.ok() && result.top[0].index == expected.at(name);
    std::cout << "consumer: " << what << ": " << name << " -> "
              << (result.ok() ? std::to_string(result.top[0].index) + " " + result.top[0].label : result.error)
              << (right ? "" : "  WRONG") << "\n";
    failures += right ? 0 : 1;
  }
  return failures + (checked == 8 ? 0 : 1);
}

int pipelines(const std::string& weights, const std::string& images, const std::string& labels_file,
              const std::string& work) {
  vit::PipelineOptions options;
  options.labels = labels_file;
  const vit::Classifier from_timm(weights, options);
  int failures = check_top1(from_timm, images, "timm file");

  const std::filesystem::path folder = std::filesystem::path(work) / "deit-tiny-hf";
  std::filesystem::remove_all(folder);
  write_hf_folder(from_timm.model(), weights, from_timm.labels(), folder);
  const vit::Classifier from_hf(folder.string());  // labels from its config.json
  if (from_hf.model().naming() != vit::CheckpointNaming::HuggingFace || from_hf.labels() != from_timm.labels()) {
    std::cout << "consumer: the HF folder was not read as an HF checkpoint with its id2label\n";
    ++failures;
  }
  failures += check_top1(from_hf, images, "HF folder");

#ifdef VIT_WITH_CUDA
  vit::PipelineOptions on_gpu;
  on_gpu.device = vit::Device::CUDA;
  on_gpu.dtype = vit::DType::BF16;
  try {
    failures += check_top1(vit::Classifier(weights, on_gpu), images, "CUDA bf16");
  } catch (const vit::Error& error) {  // no usable GPU here: linking was the point
    std::cout << "consumer: vit::cuda linked; " << error.what() << "\n";
  }
#endif
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) try {
  if (random_model() != 0) return 1;
  if (argc == 5) return pipelines(argv[1], argv[2], argv[3], argv[4]);
  std::cout << "consumer: SKIPPED the pipeline checks (no ../shared model, images and labels)\n";
  return 0;
} catch (const std::exception& error) {
  std::cerr << "consumer: error: " << error.what() << "\n";
  return 1;
}
