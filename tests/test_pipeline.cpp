// vit::Classifier and vit::Explainer: each entry point against the library calls it wraps (load_model,
// preprocessing_for_checkpoint, preprocess, forward, top_k, explain), bit for bit; labels, batching,
// concurrency and the errors a user can make.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <vit/vit.hpp>

#include "fixtures.hpp"
#include "support.hpp"
#include "temp_files.hpp"

namespace {

// Small images of varied sizes and formats, all decodable.
std::vector<std::string> test_images() {
  std::vector<std::string> paths;
  for (const char* name : {"baseline_120x90.jpg", "bmp_31x17.bmp", "gif_20x20.gif", "grey_50x70.png",
                           "palette_33x33.png", "progressive_130x97.jpg"})
    paths.push_back(vit::test::data_path(std::string("images/") + name));
  return paths;
}

// The small timm fixture model, whose architecture comes from its expected-outputs file (a ViTConfig given to
// the pipeline, as PipelineOptions::config allows).
vit::PipelineOptions timm_fixture_options() {
  vit::PipelineOptions options;
  options.config = vit::test::fixture_config(vit::SafetensorsFile::open(vit::test::data_path("vit_timm.expected.safetensors")));
  return options;
}

// The same pipeline spelled out with the library's own calls.
vit::Tensor<float> logits_by_hand(const std::string& checkpoint, const std::vector<std::string>& paths) {
  const vit::Model model = vit::load_model(checkpoint);
  const vit::Preprocessing preprocessing = vit::preprocessing_for_checkpoint(checkpoint, model.config(), model.naming());
  std::vector<vit::Image> images;
  for (const std::string& path : paths) images.push_back(vit::load_image(path));
  return model.forward(vit::preprocess(images, preprocessing)).logits;
}

void check_same(const std::vector<vit::Classification>& top, const vit::Tensor<float>& logits, std::int64_t row) {
  const auto expected = vit::top_k(logits, int(top.size()))[std::size_t(row)];
  REQUIRE(top.size() == expected.size());
  for (std::size_t i = 0; i < top.size(); ++i) {
    CHECK(top[i].index == expected[i].index);
    CHECK(top[i].logit == expected[i].logit);  // bit for bit: the same calls in the same batch
    CHECK(top[i].probability == expected[i].probability);
  }
}

}  // namespace

TEST_CASE("Classifier: files, images and tensors give the library's own logits, with the checkpoint's labels",
          "[pipeline]") {
  const std::string checkpoint = vit::test::data_path("vit_hf");  // an HF folder: weights, config.json (id2label)
  const std::vector<std::string> paths = test_images();
  vit::PipelineOptions options;
  options.batch_size = int(paths.size());  // one batch, as logits_by_hand runs them
  const vit::Classifier classifier(checkpoint, options);
  const vit::Tensor<float> expected = logits_by_hand(checkpoint, paths);
  REQUIRE(classifier.labels().size() == 10);
  CHECK(classifier.label(3) == "class_3");

  const std::vector<vit::ImageClassification> results = classifier.classify_files(paths, 3);
  REQUIRE(results.size() == paths.size());
  std::vector<vit::Image> images;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    INFO(paths[i]);
    REQUIRE(results[i].ok());
    CHECK(results[i].path == paths[i]);
    check_same(results[i].top, expected, std::int64_t(i));
    for (const vit::Classification& c : results[i].top) CHECK(c.label == "class_" + std::to_string(c.index));
    images.push_back(vit::load_image(paths[i]));
  }
  const auto from_images = classifier.classify(images, 3);
  const auto from_tensor = classifier.classify(classifier.preprocess(images), 3);
  REQUIRE(from_images.size() == paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) {
    check_same(from_images[i], expected, std::int64_t(i));
    check_same(from_tensor[i], expected, std::int64_t(i));
  }
  // One image alone runs at batch 1: equal up to the GEMMs' last bits.
  const std::vector<vit::Classification> single = classifier.classify(paths[0], 1);
  REQUIRE(single.size() == 1);
  CHECK(single[0].index == results[0].top[0].index);
  CHECK(single[0].logit == Approx(results[0].top[0].logit).margin(1e-5));
}

TEST_CASE("Classifier: batch_size splits the work without changing which class wins; folders are expanded",
          "[pipeline]") {
  const std::string checkpoint = vit::test::data_path("vit_hf");
  vit::test::TempDir folder;
  const std::vector<std::string> paths = test_images();
  for (const std::string& path : paths)
    std::filesystem::copy_file(path, folder / std::filesystem::path(path).filename().string());
  std::ofstream(folder / "notes.txt") << "not an image";  // skipped: not an image extension
  vit::PipelineOptions options;
  options.batch_size = 4;  // 6 images: batches of 4 and 2
  const vit::Classifier classifier(checkpoint, options);
  const std::vector<vit::ImageClassification> from_folder = classifier.classify_files({folder.str()}, 2);
  options.batch_size = 1;
  const std::vector<vit::ImageClassification> one_by_one = vit::Classifier(checkpoint, options).classify_files(paths, 2);
  REQUIRE(from_folder.size() == paths.size());
  REQUIRE(one_by_one.size() == paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) {  // sorted names: the same order as test_images()
    CHECK(std::filesystem::path(from_folder[i].path).filename() == std::filesystem::path(paths[i]).filename());
    REQUIRE(from_folder[i].ok());
    CHECK(from_folder[i].top[0].index == one_by_one[i].top[0].index);
    CHECK(from_folder[i].top[0].logit == Approx(one_by_one[i].top[0].logit).margin(1e-5));
  }
}

TEST_CASE("Classifier: a bad input fails alone, in its place, with a message naming it", "[pipeline][errors]") {
  vit::test::TempDir folder;
  std::ofstream(folder / "broken.jpg") << "not a JPEG";
  const std::vector<std::string> paths = {test_images()[0], folder / "broken.jpg", folder / "missing.png",
                                          test_images()[1]};
  vit::PipelineOptions options;
  options.batch_size = 2;
  const vit::Classifier classifier(vit::test::data_path("vit_hf"), options);
  std::vector<vit::ImageClassification> results;
  classifier.classify_files(paths, 1, [&](const vit::ImageClassification& result) { results.push_back(result); });
  REQUIRE(results.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(results[i].path == paths[i]);
  CHECK(results[0].ok());
  CHECK_FALSE(results[1].ok());
  CHECK(results[1].error.find("broken.jpg") != std::string::npos);
  CHECK(results[1].top.empty());
  CHECK_FALSE(results[2].ok());
  CHECK(results[2].error.find("missing.png") != std::string::npos);
  CHECK(results[3].ok());
  CHECK_THROWS_WITH(classifier.classify(folder / "broken.jpg"), Catch::Contains("broken.jpg"));
}

TEST_CASE("Classifier: decoding ahead on a second thread changes nothing; on_result's exception ends the run",
          "[pipeline][errors]") {
  vit::test::TempDir folder;
  std::ofstream(folder / "broken.jpg") << "not a JPEG";
  std::vector<std::string> paths = test_images();  // 6 good ones, a broken one after the 2nd and at the end
  paths.insert(paths.begin() + 2, folder / "broken.jpg");
  paths.push_back(folder / "broken.jpg");
  for (const int batch_size : {1, 2, 4, 16}) {
    vit::PipelineOptions options;
    options.batch_size = batch_size;
    options.decode_ahead = false;
    const std::vector<vit::ImageClassification> serial =
        vit::Classifier(vit::test::data_path("vit_hf"), options).classify_files(paths, 3);
    options.decode_ahead = true;
    const vit::Classifier classifier(vit::test::data_path("vit_hf"), options);
    const std::vector<vit::ImageClassification> ahead = classifier.classify_files(paths, 3);
    INFO("batch_size " << batch_size);
    REQUIRE(serial.size() == paths.size());
    REQUIRE(ahead.size() == paths.size());
    for (std::size_t i = 0; i < paths.size(); ++i) {
      CHECK(ahead[i].path == paths[i]);
      CHECK(ahead[i].error == serial[i].error);
      CHECK(ahead[i].ok() == (i != 2 && i + 1 != paths.size()));
      REQUIRE(ahead[i].top.size() == serial[i].top.size());
      for (std::size_t k = 0; k < ahead[i].top.size(); ++k) {
        CHECK(ahead[i].top[k].index == serial[i].top[k].index);
        CHECK(ahead[i].top[k].logit == serial[i].top[k].logit);  // same batches, same calls: bit for bit
      }
    }
    // A callback that throws after the first result: the exception reaches the caller (after the batch
    // being decoded meanwhile is finished), and no later result is delivered.
    int delivered = 0;
    CHECK_THROWS_WITH(classifier.classify_files(paths, 1,
                                                [&](const vit::ImageClassification&) {
                                                  ++delivered;
                                                  throw std::runtime_error("stop here");
                                                }),
                      "stop here");
    CHECK(delivered == 1);
  }
}

TEST_CASE("Classifier: options and labels that cannot work are refused with what was wrong",
          "[pipeline][errors]") {
  const std::string checkpoint = vit::test::data_path("vit_hf");
  vit::PipelineOptions options;
  options.dtype = vit::DType::F16;
  CHECK_THROWS_WITH(vit::Classifier(checkpoint, options), Catch::Contains("needs Device::CUDA"));
  options = {};
  options.batch_size = 0;
  CHECK_THROWS_WITH(vit::Classifier(checkpoint, options), Catch::Contains("batch_size must be positive"));
  options = {};
  options.device = vit::Device::CUDA;  // this test program does not link vit::cuda
  CHECK_THROWS_WITH(vit::Classifier(checkpoint, options), Catch::Contains("link vit::cuda"));
  options = {};
  vit::test::TempDir folder;
  std::ofstream(folder / "labels.txt") << "a\nb\nc\n";
  options.labels = folder / "labels.txt";
  CHECK_THROWS_WITH(vit::Classifier(checkpoint, options), Catch::Contains("has 3 labels but the model has 10 classes"));
  options = {};
  CHECK_THROWS_WITH(vit::Classifier(folder / "nothing-here", options), Catch::Contains("nothing-here"));
  vit::Classifier classifier(checkpoint);
  CHECK_THROWS_WITH(classifier.classify(test_images()[0], 0), Catch::Contains("top_k must be positive"));
  CHECK_THROWS_WITH(classifier.label(10), Catch::Contains("out of range"));
  classifier.set_labels({});  // no names: labels are the indices
  CHECK(classifier.classify(test_images()[0], 1)[0].label == std::to_string(classifier.classify(test_images()[0], 1)[0].index));
}

TEST_CASE("Classifier: one const classifier called from four threads gives the serial results bit for bit",
          "[pipeline][threads]") {
  vit::PipelineOptions options = timm_fixture_options();
  options.threads = 1;  // four callers, one thread each: no oversubscription
  const vit::Classifier classifier(vit::test::data_path("vit_timm.safetensors"), options);
  const std::vector<std::string> paths = test_images();
  std::vector<std::vector<vit::Classification>> serial;
  for (const std::string& path : paths) serial.push_back(classifier.classify(path, 5));

  constexpr int kThreads = 4, kRounds = 3;
  std::vector<std::vector<std::vector<vit::Classification>>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round)
        for (std::size_t i = 0; i < paths.size(); ++i)
          seen[std::size_t(t)].push_back(classifier.classify(paths[(i + std::size_t(t)) % paths.size()], 5));
    });
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t)
    for (std::size_t k = 0; k < seen[std::size_t(t)].size(); ++k) {
      const auto& expected = serial[(k % paths.size() + std::size_t(t)) % paths.size()];
      const auto& got = seen[std::size_t(t)][k];
      REQUIRE(got.size() == expected.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].index == expected[i].index);
        CHECK(got[i].logit == expected[i].logit);
      }
    }
}

TEST_CASE("Explainer: maps equal vit::explain's on the same input; overlays cover the image or the crop",
          "[pipeline][explain]") {
  const std::string checkpoint = vit::test::data_path("vit_timm.safetensors");
  const vit::Explainer explainer(checkpoint, timm_fixture_options());
  const std::string path = test_images()[0];  // 120x90
  const vit::ExplainedImage image = explainer.prepare(path, 3);
  CHECK(image.path == path);
  CHECK(image.image.width == 120);
  CHECK(image.image.height == 90);
  REQUIRE(image.top.size() == 3);
  REQUIRE(image.forward.attentions.size() == std::size_t(explainer.config().depth));

  for (vit::ExplanationMethod method : {vit::ExplanationMethod::Rollout, vit::ExplanationMethod::RawAttention,
                                        vit::ExplanationMethod::TransformerAttribution,
                                        vit::ExplanationMethod::GenericAttention}) {
    INFO(vit::explanation_method_name(method));
    vit::ExplainOptions options;
    options.method = method;
    options.discard_ratio = method == vit::ExplanationMethod::Rollout ? 0.5 : 0.0;
    const vit::ExplanationMap map = explainer.explain(image, options);
    const vit::Explanation expected = vit::explain(explainer.model(), image.input, options);
    REQUIRE(map.values.shape() == vit::Shape{expected.maps.size(1), expected.maps.size(2)});
    for (std::int64_t i = 0; i < map.values.numel(); ++i) REQUIRE(map.values[i] == expected.maps[i]);
    CHECK(map.target == (vit::is_class_specific(method) ? image.top[0].index : -1));
  }
  vit::ExplainOptions second;
  second.method = vit::ExplanationMethod::TransformerAttribution;
  second.targets = {image.top[1].index};
  CHECK(explainer.explain(image, second).target == image.top[1].index);
  second.targets = {0, 1};
  CHECK_THROWS_WITH(explainer.explain(image, second), Catch::Contains("2 target classes for one image"));

  const vit::ExplanationMap map = explainer.explain(image);
  const vit::Image on_original = explainer.overlay(image, map);
  CHECK(on_original.width == 120);
  CHECK(on_original.height == 90);
  vit::OverlayOptions on_crop;
  on_crop.on_crop = true;
  const vit::Image drawn = explainer.overlay(image, map, on_crop);
  CHECK(drawn.width == image.crop.width);
  CHECK(drawn.height == image.crop.height);
}

TEST_CASE("Classifier: the shared DeiT-tiny classifies the eight shared images as expected", "[pipeline][real]") {
  const std::string weights = vit::test::shared_path("models/deit_tiny_patch16_224.safetensors");
  const std::string images = vit::test::shared_path("images");
  if (weights.empty() || images.empty()) {
    WARN("SKIPPED: ../shared/models or ../shared/images is not present");
    return;
  }
  const std::map<std::string, int> expected(vit::test::shared_images_top1().begin(),
                                            vit::test::shared_images_top1().end());
  const vit::Classifier classifier(weights);
  int checked = 0;
  for (const vit::ImageClassification& result : classifier.classify_files({images}, 1)) {
    const std::string name = std::filesystem::path(result.path).filename().string();
    if (!expected.count(name)) continue;
    INFO(name);
    REQUIRE(result.ok());
    CHECK(result.top[0].index == expected.at(name));
    ++checked;
  }
  CHECK(checked == 8);
}
