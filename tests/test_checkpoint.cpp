// Checkpoint folders (vit::train::save_checkpoint): read back by vit exactly, read by timm and transformers
// as the committed fixture records (tools/make_checkpoint_fixtures.py), timm's own configs read by vit, what
// cannot be saved refused without touching disk; and the training-state files (save_tensors/load_tensors).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>
#include <vit/train/checkpoint.hpp>
#include <vit/vit.hpp>

#include "checkpoint_cases.hpp"
#include "fixtures.hpp"
#include "model_builder.hpp"
#include "support.hpp"
#include "temp_files.hpp"

namespace {

using vit::test::CheckpointCase;
using vit::test::TempDir;

vit::train::CheckpointOptions options_of(const CheckpointCase& checkpoint_case) {
  vit::train::CheckpointOptions options;
  options.labels = checkpoint_case.labels;
  options.data = checkpoint_case.data;
  return options;
}

vit::Tensor<float> case_input(const CheckpointCase& checkpoint_case) {
  return vit::test::checkpoint_case_input(checkpoint_case, VIT_TEST_DATA_DIR);
}

// The architecture fields that decide what a model computes.
void require_same_architecture(const vit::ViTConfig& actual, const vit::ViTConfig& expected) {
  CHECK(actual.image_size == expected.image_size);
  CHECK(actual.patch_size == expected.patch_size);
  CHECK(actual.in_channels == expected.in_channels);
  CHECK(actual.embed_dim == expected.embed_dim);
  CHECK(actual.depth == expected.depth);
  CHECK(actual.num_heads == expected.num_heads);
  CHECK(actual.mlp_dim == expected.mlp_dim);
  CHECK(actual.num_classes == expected.num_classes);
  CHECK(actual.layer_norm_eps == expected.layer_norm_eps);
  CHECK(actual.qkv_bias == expected.qkv_bias);
  CHECK(actual.class_token == expected.class_token);
  CHECK(actual.distillation_token == expected.distillation_token);
  CHECK(actual.has_distillation_head() == expected.has_distillation_head());
  CHECK(actual.pooling == expected.pooling);
  CHECK(actual.fc_norm == expected.fc_norm);
  CHECK(actual.pos_embed_resampling == vit::PosEmbedResampling::BicubicAntialias);
}

void require_same_preprocessing(const vit::Preprocessing& actual, const vit::Preprocessing& expected) {
  CHECK(actual.resize == expected.resize);
  CHECK(actual.resize_short == expected.resize_short);
  CHECK(actual.resize_height == expected.resize_height);
  CHECK(actual.resize_width == expected.resize_width);
  CHECK(actual.interpolation == expected.interpolation);
  CHECK(actual.center_crop == expected.center_crop);
  CHECK(actual.crop_height == expected.crop_height);
  CHECK(actual.crop_width == expected.crop_width);
  CHECK(actual.crop_rounding == expected.crop_rounding);
  CHECK(actual.mean == expected.mean);
  CHECK(actual.stddev == expected.stddev);
  CHECK(actual.channels == expected.channels);
}

void require_same_data(const vit::TimmDataConfig& actual, const vit::TimmDataConfig& expected) {
  CHECK(actual.in_chans == expected.in_chans);
  CHECK(actual.image_size == expected.image_size);
  CHECK(actual.interpolation == expected.interpolation);
  CHECK(actual.mean == expected.mean);
  CHECK(actual.std == expected.std);
  CHECK(actual.crop_pct == expected.crop_pct);
  CHECK(actual.crop_mode == expected.crop_mode);
}

bool bit_identical(vit::TensorView<const float> a, vit::TensorView<const float> b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), std::size_t(a.numel()) * 4) == 0;
}

std::string hex_crc32(const std::vector<std::uint8_t>& bytes) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", unsigned(vit::detail::crc32(bytes.data(), bytes.size())));
  return text;
}

// max |actual - expected| / max |expected|
double relative_difference(vit::TensorView<const float> actual, vit::TensorView<const float> expected) {
  double difference = 0, scale = 0;
  for (std::int64_t i = 0; i < expected.numel(); ++i) {
    difference = std::max(difference, std::abs(double(actual[i]) - double(expected[i])));
    scale = std::max(scale, std::abs(double(expected[i])));
  }
  return difference / scale;
}

std::vector<int> top1(vit::TensorView<const float> logits) {
  std::vector<int> classes;
  for (const auto& predictions : vit::top_k(logits, 1)) classes.push_back(predictions.front().index);
  return classes;
}

const std::set<std::string> kFolderFiles{"config.json", "model.safetensors", "preprocessor_config.json"};

}  // namespace

TEST_CASE("checkpoint: vit::load_model reads a saved folder back exactly", "[checkpoint]") {
  for (const CheckpointCase& checkpoint_case : vit::test::checkpoint_cases()) {
    INFO(checkpoint_case.name);
    const vit::Model model = vit::test::load_checkpoint_case(checkpoint_case, VIT_TEST_DATA_DIR);
    TempDir temp;
    const std::string folder = temp / "saved/checkpoint";  // parents are created
    vit::train::save_checkpoint(model, folder, options_of(checkpoint_case));
    CHECK(vit::test::list_folder(folder) == kFolderFiles);

    for (const std::string& path : {folder, folder + "/model.safetensors"}) {  // the folder or the file in it
      const vit::Model reloaded = vit::load_model(path);
      require_same_architecture(reloaded.config(), checkpoint_case.config);
      CHECK(reloaded.naming() == vit::CheckpointNaming::Timm);
      for (const vit::ExpectedWeight& weight : vit::expected_weights(model.config())) {
        INFO(weight.name);
        CHECK(bit_identical(reloaded.weight(weight.name), model.weight(weight.name)));
      }
      const vit::Tensor<float> input = case_input(checkpoint_case);
      CHECK(bit_identical(reloaded.forward(input).logits, model.forward(input).logits));
      CHECK(vit::labels_for_checkpoint(path, reloaded.naming()) == checkpoint_case.labels);
      // A grey model's preprocessing makes one channel (PIL's convert("L") first).
      CHECK(vit::preprocessing_for_checkpoint(path, reloaded.config(), reloaded.naming()).channels ==
            (checkpoint_case.grey ? 1 : 3));
      require_same_preprocessing(vit::preprocessing_for_checkpoint(path, reloaded.config(), reloaded.naming()),
                                 vit::preprocessing_from_timm_data(checkpoint_case.data, "case"));
    }
    // The weights file holds timm's names and shapes and nothing else; F32, format "pt".
    const auto file = vit::SafetensorsFile::open(folder + "/model.safetensors");
    CHECK(file.metadata() == std::map<std::string, std::string>{{"format", "pt"}});
    CHECK(file.entries().size() == vit::expected_weights(model.config()).size());
    CHECK(file.at("patch_embed.proj.weight").shape == vit::Shape{48, checkpoint_case.grey ? 1 : 3, 8, 8});
    CHECK(file.at("patch_embed.proj.weight").dtype == "F32");
  }
}

TEST_CASE("checkpoint interop: vit writes the folders timm and transformers loaded, and agrees with them",
          "[checkpoint]") {
  // tests/data/checkpoint/interop.expected.safetensors: what timm and transformers computed from these folders.
  const auto fixture = vit::SafetensorsFile::open(vit::test::data_path("checkpoint/interop.expected.safetensors"));
  const vit::Image image = vit::load_image(vit::test::data_path(vit::test::kCheckpointImage));
  for (const CheckpointCase& checkpoint_case : vit::test::checkpoint_cases()) {
    INFO(checkpoint_case.name);
    const std::string& name = checkpoint_case.name;
    TempDir temp;
    const std::string folder = temp / name;
    vit::train::save_checkpoint(vit::test::load_checkpoint_case(checkpoint_case, VIT_TEST_DATA_DIR), folder,
                                options_of(checkpoint_case));
    for (const std::string& file : kFolderFiles) {
      INFO(file << " differs from the bytes timm and transformers loaded: rerun tools/make_checkpoint_fixtures.py");
      CHECK(hex_crc32(vit::test::file_bytes(folder + "/" + file)) == fixture.metadata().at(name + ".crc32." + file));
    }

    const vit::Model model = vit::load_model(folder);
    const vit::Tensor<float> logits = model.forward(case_input(checkpoint_case)).logits;
    const vit::Tensor<float> timm_logits = fixture.read_float(name + ".timm_logits");
    const vit::Tensor<float> hf_logits = fixture.read_float(name + ".hf_logits");
    const double relative = relative_difference(logits, timm_logits);
    INFO("vit vs timm: " << relative << " relative");
    CHECK(relative <= 1e-5);
    CHECK(relative_difference(logits, fixture.read_float(name + ".timm_logits_f64")) <= 1e-5);
    CHECK(bit_identical(hf_logits, timm_logits));  // transformers runs the same timm model
    CHECK(top1(logits) == top1(hf_logits));

    // The folder's preprocessing is timm's eval transform (and transformers' TimmWrapperImageProcessor).
    if (checkpoint_case.grey) continue;  // RGB only (see above); timm's own transform broadcasts to 3 channels
    const vit::Tensor<float> pixels =
        vit::preprocess({image}, vit::preprocessing_for_checkpoint(folder, model.config(), model.naming()));
    VIT_REQUIRE_CLOSE(pixels, fixture.read_float(name + ".timm_pixels"), 1e-6);
    // The pipeline's answer on that image names the top class of vit's logits, by its saved label.
    const int top = top1(model.forward(pixels).logits).front();
    const nlohmann::json pipeline = nlohmann::json::parse(fixture.metadata().at(name + ".pipeline"));
    CHECK(pipeline.at(0).at("label") == checkpoint_case.labels.at(std::size_t(top)));
  }
}

TEST_CASE("checkpoint: the config.json timm's own save_for_hf writes is read as the same model", "[checkpoint]") {
  const auto fixture = vit::SafetensorsFile::open(vit::test::data_path("checkpoint/interop.expected.safetensors"));
  for (const CheckpointCase& checkpoint_case : vit::test::checkpoint_cases()) {
    INFO(checkpoint_case.name);
    const nlohmann::json json = nlohmann::json::parse(fixture.metadata().at(checkpoint_case.name + ".timm_config"));
    REQUIRE(vit::is_timm_config(json));
    CHECK(json.at("model_args").contains("num_classes"));  // timm repeats it there (transformers then fails)
    const vit::ViTConfig config = vit::config_from_timm_json(json, "timm's config");
    require_same_architecture(config, checkpoint_case.config);
    CHECK(vit::labels_from_timm_json(json, "timm's config") == checkpoint_case.labels);
    require_same_data(vit::data_config_from_timm_json(json, config, "timm's config"), checkpoint_case.data);
    // The case's weights load strictly under that config.
    const vit::Model source = vit::test::load_checkpoint_case(checkpoint_case, VIT_TEST_DATA_DIR);
    std::vector<vit::SafetensorsTensor> tensors;
    for (const vit::ExpectedWeight& weight : vit::expected_weights(source.config()))
      tensors.push_back({weight.name, source.weight(weight.name)});
    const vit::Model model(vit::SafetensorsFile::parse(vit::encode_safetensors(tensors)), config,
                           vit::CheckpointNaming::Timm);
    const vit::Tensor<float> input = case_input(checkpoint_case);
    CHECK(bit_identical(model.forward(input).logits, source.forward(input).logits));
  }
}

TEST_CASE("checkpoint: timm configs vit cannot compute are errors naming the field", "[checkpoint]") {
  const auto with = [](const std::string& key, const nlohmann::json& value) {
    nlohmann::json json = {{"architecture", "vit_small_patch16_224"},
                           {"num_classes", 10},
                           {"model_args", {{"img_size", 224}}},
                           {"pretrained_cfg", nlohmann::json::object()}};
    json["model_args"][key] = value;
    return json;
  };
  const vit::ViTConfig small = vit::config_from_timm_json(with("depth", 3), "c.json");
  CHECK(small.embed_dim == 384);
  CHECK(small.num_heads == 6);
  CHECK(small.depth == 3);
  CHECK(small.num_classes == 10);
  CHECK(small.mlp_dim == 1536);
  CHECK(vit::config_from_timm_json(with("mlp_ratio", 2.5), "c.json").mlp_dim == 960);
  CHECK(vit::config_from_timm_json(with("global_pool", "avg"), "c.json").fc_norm);  // timm: fc_norm follows 'avg'
  CHECK(vit::config_from_timm_json(with("reg_tokens", 0), "c.json").depth == 12);   // a default value is fine

  VIT_REQUIRE_ERROR(vit::config_from_timm_json(with("reg_tokens", 4), "c.json"),
                    Catch::Contains("c.json") && Catch::Contains("\"reg_tokens\" = 4 is not supported"));
  VIT_REQUIRE_ERROR(vit::config_from_timm_json(with("init_values", 1e-5), "c.json"), Catch::Contains("init_values"));
  VIT_REQUIRE_ERROR(vit::config_from_timm_json(with("global_pool", "map"), "c.json"),
                    Catch::Contains("global_pool \"map\" is not supported"));
  VIT_REQUIRE_ERROR(vit::config_from_timm_json(with("img_size", nlohmann::json::array({224, 160})), "c.json"),
                    Catch::Contains("not square"));
  VIT_REQUIRE_ERROR(vit::config_from_timm_json(with("num_heads", 5), "c.json"),
                    Catch::Contains("c.json") && Catch::Contains("not divisible by num_heads 5"));
  nlohmann::json clip = with("depth", 3);
  clip["architecture"] = "vit_base_patch16_clip_224";
  VIT_REQUIRE_ERROR(vit::config_from_timm_json(clip, "c.json"),
                    Catch::Contains("architecture \"vit_base_patch16_clip_224\" is not one vit computes"));
  VIT_REQUIRE_ERROR(vit::config_from_timm_json(nlohmann::json{{"architecture", "vit_small_patch16_224"}}, "c.json"),
                    Catch::Contains("not a timm config"));
}

TEST_CASE("checkpoint: what timm cannot load is refused and nothing on disk changes", "[checkpoint]") {
  const CheckpointCase checkpoint_case = vit::test::checkpoint_cases().front();
  const vit::Model model = vit::test::load_checkpoint_case(checkpoint_case, VIT_TEST_DATA_DIR);
  TempDir temp;
  const std::string folder = temp / "out";
  vit::train::save_checkpoint(model, folder, options_of(checkpoint_case));
  std::map<std::string, std::vector<std::uint8_t>> saved;
  for (const std::string& file : kFolderFiles) saved[file] = vit::test::file_bytes(folder + "/" + file);
  const auto unchanged = [&] {
    CHECK(vit::test::list_folder(folder) == kFolderFiles);  // no temporary files either
    for (const std::string& file : kFolderFiles) CHECK(vit::test::file_bytes(folder + "/" + file) == saved[file]);
  };

  std::map<std::string, vit::TensorView<const float>> weights;
  for (const vit::ExpectedWeight& weight : vit::expected_weights(model.config()))
    weights.emplace(weight.name, model.weight(weight.name));
  vit::train::CheckpointOptions options = options_of(checkpoint_case);

  SECTION("labels that do not fit") {
    options.labels.pop_back();
    VIT_REQUIRE_ERROR(vit::train::save_checkpoint(model, folder, options),
                      Catch::Contains(folder) && Catch::Contains("9 labels for 10 classes"));
  }
  SECTION("a label that is not UTF-8") {
    options.labels[0] = "\xff";
    VIT_REQUIRE_ERROR(vit::train::save_checkpoint(model, folder, options), Catch::Contains("not valid UTF-8"));
  }
  SECTION("a missing, an extra or a mis-shaped weight") {
    auto missing = weights;
    missing.erase("head.bias");
    VIT_REQUIRE_ERROR(vit::train::save_checkpoint(model.config(), missing, folder, options),
                      Catch::Contains("no weight 'head.bias'"));
    auto extra = weights;
    extra.emplace("head_dist.bias", model.weight("head.bias"));
    VIT_REQUIRE_ERROR(vit::train::save_checkpoint(model.config(), extra, folder, options),
                      Catch::Contains("unexpected weight 'head_dist.bias'"));
    auto misshaped = weights;
    misshaped["head.weight"] = model.weight("head.weight").reshape({48, 10});
    VIT_REQUIRE_ERROR(vit::train::save_checkpoint(model.config(), misshaped, folder, options),
                      Catch::Contains("'head.weight' has shape [48, 10], expected [10, 48]"));
  }
  SECTION("a diverged model") {
    vit::Tensor<float> bias = vit::Tensor<float>({10});
    bias[3] = std::numeric_limits<float>::quiet_NaN();
    weights["head.bias"] = bias;
    VIT_REQUIRE_ERROR(vit::train::save_checkpoint(model.config(), weights, folder, options),
                      Catch::Contains("'head.bias' holds nan at index 3"));
  }
  SECTION("LayerNorm eps timm cannot express (an HF model)") {
    const vit::Model hf = vit::load_model(vit::test::data_path("vit_hf/model.safetensors"));
    REQUIRE(hf.config().layer_norm_eps == 1e-12f);
    VIT_REQUIRE_ERROR(vit::train::save_checkpoint(hf, folder, options),
                      Catch::Contains("LayerNorm eps 1e-12") && Catch::Contains("timm's ViT always uses 1e-6"));
  }
  SECTION("a distillation token without its head (HF DeiTForImageClassification)") {
    vit::ViTConfig config = checkpoint_case.config;
    config.distillation_token = true;
    config.distillation_head = false;
    const vit::Model deit(vit::SafetensorsFile::parse(vit::test::random_checkpoint(config).encode()), config,
                          vit::CheckpointNaming::Timm);
    VIT_REQUIRE_ERROR(vit::train::save_checkpoint(deit, folder, options),
                      Catch::Contains("distillation token without a distillation head"));
  }
  SECTION("preprocessing that does not fit, or that vit could not reproduce") {
    options.data->image_size = 224;
    VIT_REQUIRE_ERROR(vit::train::save_checkpoint(model, folder, options), Catch::Contains("3x224x224 inputs"));
    options.data = checkpoint_case.data;
    options.data->crop_mode = "border";
    VIT_REQUIRE_ERROR(vit::train::save_checkpoint(model, folder, options), Catch::Contains("crop_mode \"border\""));
  }
  SECTION("an architecture of another kind") {
    options.architecture = "deit_tiny_distilled_patch16_224";
    VIT_REQUIRE_ERROR(vit::train::save_checkpoint(model, folder, options), Catch::Contains("is a distilled DeiT"));
  }
  SECTION("a write that fails half way (a full disk)") {
    const vit::Model other = vit::load_model(vit::test::data_path("deit_distilled_timm.safetensors"),
                                             vit::test::checkpoint_cases()[1].config);
    vit::test::FileSizeLimit limit(100 * 1024);  // model.safetensors is 270 kB
    VIT_REQUIRE_ERROR(vit::train::save_checkpoint(other, folder, options),
                      Catch::Contains("model.safetensors") && Catch::Contains("writing failed"));
  }
  unchanged();
}

TEST_CASE("checkpoint: load_model names what is wrong with a folder", "[checkpoint]") {
  TempDir temp;
  VIT_REQUIRE_ERROR(vit::load_model(temp.str()), Catch::Contains(temp.str()) && Catch::Contains("no model.safetensors"));
  // A timm config that does not fit the weights is a strict-loading error naming the tensor.
  const CheckpointCase checkpoint_case = vit::test::checkpoint_cases().front();
  vit::train::save_checkpoint(vit::test::load_checkpoint_case(checkpoint_case, VIT_TEST_DATA_DIR), temp.str(),
                              options_of(checkpoint_case));
  nlohmann::json json = vit::detail::read_json_file(temp / "config.json");
  json["model_args"]["depth"] = 3;
  std::ofstream(temp / "config.json") << json.dump();
  VIT_REQUIRE_ERROR(vit::load_model(temp.str()), Catch::Contains("missing tensor 'blocks.2.norm1.weight'"));
}

TEST_CASE("training state: save_tensors and load_tensors round-trip exactly", "[checkpoint][state]") {
  TempDir temp;
  const std::string path = temp / "state.safetensors";
  const vit::Tensor<float> m = vit::test::random_tensor({1000}, 1), v = vit::test::random_tensor({10, 100}, 2);
  vit::train::save_tensors(path, {{"adamw.m", m}, {"adamw.v", v}}, {{"step", "20"}, {"rng", "1 2 3"}});
  const vit::train::TensorFile state = vit::train::load_tensors(path);
  CHECK(bit_identical(state.at("adamw.m", {1000}), m));
  CHECK(bit_identical(state.at("adamw.v", {10, 100}), v));
  CHECK(state.metadata == std::map<std::string, std::string>{{"format", "pt"}, {"rng", "1 2 3"}, {"step", "20"}});
  CHECK(state.text("step") == "20");
  VIT_REQUIRE_ERROR(state.at("adamw.v", {1000}), Catch::Contains(path) && Catch::Contains("'adamw.v' has shape [10, 100]"));
  VIT_REQUIRE_ERROR(state.at("sgd.momentum", {1000}), Catch::Contains("no tensor 'sgd.momentum'"));
  VIT_REQUIRE_ERROR(state.text("epoch"), Catch::Contains("no metadata entry 'epoch'"));
  VIT_REQUIRE_ERROR(vit::train::save_tensors(path, {{"m", m}}, {{"vit.crc32", "0"}}), Catch::Contains("reserved"));
}

TEST_CASE("training state: a corrupt or truncated resume file is a clear error", "[checkpoint][state]") {
  TempDir temp;
  const std::string path = temp / "state.safetensors";
  vit::train::save_tensors(path, {{"m", vit::test::random_tensor({256}, 3)}}, {{"step", "7"}});
  const std::vector<std::uint8_t> good = vit::test::file_bytes(path);
  const auto write = [&](const std::vector<std::uint8_t>& bytes) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  };

  SECTION("truncated") {
    write(std::vector<std::uint8_t>(good.begin(), good.end() - 100));
    VIT_REQUIRE_ERROR(vit::train::load_tensors(path), Catch::Contains(path) && Catch::Contains("reach past the end of the data"));
    write(std::vector<std::uint8_t>(good.begin(), good.begin() + 50));
    VIT_REQUIRE_ERROR(vit::train::load_tensors(path), Catch::Contains(path) && Catch::Contains("truncated?"));
    write({});
    VIT_REQUIRE_ERROR(vit::train::load_tensors(path), Catch::Contains(path) && Catch::Contains("too short"));
  }
  SECTION("a flipped bit in the data") {
    std::vector<std::uint8_t> bad = good;
    bad[bad.size() - 10] ^= 0x04;
    write(bad);
    VIT_REQUIRE_ERROR(vit::train::load_tensors(path),
                      Catch::Contains(path) && Catch::Contains("does not match its checksum") && Catch::Contains("corrupt"));
  }
  SECTION("a damaged header") {
    std::vector<std::uint8_t> bad = good;
    bad[8] = '#';  // the header's opening brace
    write(bad);
    VIT_REQUIRE_ERROR(vit::train::load_tensors(path), Catch::Contains(path) && Catch::Contains("not valid JSON"));
  }
  SECTION("a missing file") {
    VIT_REQUIRE_ERROR(vit::train::load_tensors(temp / "nothing.safetensors"), Catch::Contains("cannot open"));
  }
}
