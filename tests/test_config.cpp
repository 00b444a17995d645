#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <vit/model/config.hpp>
#include <vit/model/hf_config.hpp>

TEST_CASE("presets: timm names give the published architectures", "[config]") {
  const vit::ViTConfig tiny = vit::preset("deit_tiny_patch16_224");
  CHECK(tiny.embed_dim == 192);
  CHECK(tiny.depth == 12);
  CHECK(tiny.num_heads == 3);
  CHECK(tiny.mlp_dim == 768);
  CHECK(tiny.num_tokens() == 197);
  CHECK_FALSE(tiny.distillation_token);

  const vit::ViTConfig distilled = vit::preset("deit_base_distilled_patch16_384");
  CHECK(distilled.distillation_token);
  CHECK(distilled.num_tokens() == 2 + 24 * 24);

  const vit::ViTConfig large = vit::preset("vit_large_patch32_384.orig_in21k_ft_in1k");  // tag ignored
  CHECK(large.embed_dim == 1024);
  CHECK(large.depth == 24);
  CHECK(large.num_heads == 16);
  CHECK(large.grid_size() == 12);

  for (const std::string& name : vit::preset_names()) {
    INFO(name);
    CHECK_NOTHROW(vit::preset(name).validate());
    CHECK(vit::preset(name).head_dim() == 64);
  }
  CHECK_THROWS_WITH(vit::preset("vit_gigantic"), Catch::Contains("vit_gigantic") && Catch::Contains("deit_tiny_patch16_224"));
  CHECK_THROWS_AS(vit::preset("deit_large_patch16_224"), vit::Error);  // DeiT has no large model
}

TEST_CASE("config validation names the inconsistent field", "[config][errors]") {
  vit::ViTConfig config;
  config.embed_dim = 100;
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("num_heads"));
  config = vit::ViTConfig{};
  config.image_size = 100;
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("patch_size"));
  config = vit::ViTConfig{};
  config.class_token = false;
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("class token"));
  config.pooling = vit::Pooling::Mean;
  CHECK_NOTHROW(config.validate());
  config = vit::ViTConfig{};
  config.layer_norm_eps = 0;
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("layer_norm_eps"));
}

TEST_CASE("Hugging Face config.json", "[config]") {
  nlohmann::json json = {{"model_type", "vit"},
                         {"architectures", {"ViTForImageClassification"}},
                         {"hidden_size", 384},
                         {"num_hidden_layers", 12},
                         {"num_attention_heads", 6},
                         {"intermediate_size", 1536},
                         {"image_size", 224},
                         {"patch_size", 16},
                         {"hidden_act", "gelu"},
                         {"layer_norm_eps", 1e-12},
                         {"id2label", {{"0", "cat"}, {"1", "dog"}, {"2", "bird"}}}};
  vit::ViTConfig config = vit::config_from_hf_json(json, "config.json");
  CHECK(config.embed_dim == 384);
  CHECK(config.num_heads == 6);
  CHECK(config.num_classes == 3);
  CHECK(config.layer_norm_eps == 1e-12f);
  CHECK_FALSE(config.distillation_token);
  CHECK(config.pos_embed_resampling == vit::PosEmbedResampling::Bicubic);

  json["model_type"] = "deit";
  json["architectures"] = {"DeiTForImageClassificationWithTeacher"};
  config = vit::config_from_hf_json(json, "config.json");
  CHECK(config.distillation_token);
  CHECK(config.has_distillation_head());

  json["architectures"] = {"DeiTForImageClassification"};
  config = vit::config_from_hf_json(json, "config.json");
  CHECK(config.distillation_token);  // HF DeiT embeddings always carry it
  CHECK_FALSE(config.has_distillation_head());

  json["architectures"] = {"ViTModel"};
  json["model_type"] = "vit";
  CHECK(vit::config_from_hf_json(json, "config.json").num_classes == 0);

  json["hidden_act"] = "gelu_new";
  CHECK_THROWS_WITH(vit::config_from_hf_json(json, "config.json"), Catch::Contains("gelu_new"));
  json["hidden_act"] = "gelu";
  json["hidden_size"] = "wide";
  CHECK_THROWS_WITH(vit::config_from_hf_json(json, "config.json"), Catch::Contains("hidden_size"));
  json["hidden_size"] = 384;
  json["model_type"] = "swin";
  CHECK_THROWS_WITH(vit::config_from_hf_json(json, "config.json"), Catch::Contains("swin"));
  CHECK_THROWS_WITH(vit::load_hf_config("/nonexistent/config.json"), Catch::Contains("cannot open"));
}
