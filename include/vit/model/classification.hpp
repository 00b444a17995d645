// Turning logits into answers: softmax probabilities, top-k, and class labels from a file or from a
// Hugging Face config's id2label.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vit/core/error.hpp"
#include "vit/core/tensor.hpp"
#include "vit/io/read_file.hpp"

namespace vit {

struct Prediction {
  int index = 0;
  float probability = 0;  // softmax over all classes
  float logit = 0;
};

// logits: [B, C] → per image, the k most probable classes, most probable first (ties: lower index first).
inline std::vector<std::vector<Prediction>> top_k(TensorView<const float> logits, int k) {
  VIT_CHECK(logits.rank() == 2, "top_k: logits must be [B, C], got ", logits.shape());
  const std::int64_t batch = logits.size(0), classes = logits.size(1);
  k = int(std::min<std::int64_t>(std::max(k, 0), classes));
  std::vector<std::vector<Prediction>> result(static_cast<std::size_t>(batch));
  std::vector<int> order(static_cast<std::size_t>(classes));
  for (std::int64_t b = 0; b < batch; ++b) {
    const float* row = logits.data() + b * classes;
    const float max_logit = *std::max_element(row, row + classes);
    double sum = 0;
    for (std::int64_t c = 0; c < classes; ++c) sum += std::exp(double(row[c]) - max_logit);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int a, int c) { return row[a] > row[c] || (row[a] == row[c] && a < c); });
    for (int i = 0; i < k; ++i) {
      const int index = order[std::size_t(i)];
      result[std::size_t(b)].push_back({index, float(std::exp(double(row[index]) - max_logit) / sum), row[index]});
    }
  }
  return result;
}

// One label per line (line n + 1 names class n), as in ImageNet's imagenet_classes.txt.
inline std::vector<std::string> load_labels(const std::string& path) {
  const std::vector<std::uint8_t> bytes = detail::read_file(path);
  std::istringstream stream(std::string(bytes.begin(), bytes.end()));
  std::vector<std::string> labels;
  for (std::string line; std::getline(stream, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  while (!labels.empty() && labels.back().empty()) labels.pop_back();  // a trailing newline is not a class
  VIT_CHECK(!labels.empty(), path, ": no labels in the file");
  return labels;
}

// Labels from a Hugging Face config.json's id2label ({"0": "tench", ...}); empty when it has none.
inline std::vector<std::string> labels_from_hf_config(const std::string& path) {
  const nlohmann::json json = detail::read_json_file(path);
  VIT_CHECK(json.is_object(), path, ": not a JSON object");
  if (!json.contains("id2label") || !json["id2label"].is_object()) return {};
  const auto& id2label = json["id2label"];
  std::vector<std::string> labels(id2label.size());
  for (const auto& [key, value] : id2label.items()) {
    std::size_t used = 0;
    long index = -1;
    try {
      index = std::stol(key, &used);
    } catch (const std::exception&) {
    }
    VIT_CHECK(used == key.size() && index >= 0 && std::size_t(index) < labels.size() && value.is_string(), path,
              ": id2label entry \"", key, "\" is not a class index below ", labels.size(), " with a string label");
    labels[std::size_t(index)] = value.get<std::string>();
  }
  return labels;
}

// The class a text names: a class index ("161"), or a label matched without regard to case, either the whole
// label ("basset, basset hound") or one of its comma-separated names ("basset"). Throws vit::Error when the text
// names no class, or more than one (ImageNet has two "crane"s), listing the candidates.
inline int find_class(const std::vector<std::string>& labels, int classes, const std::string& text) {
  const auto trimmed = [](std::string value) {
    const auto first = value.find_first_not_of(" \t"), last = value.find_last_not_of(" \t");
    return first == std::string::npos ? std::string() : value.substr(first, last - first + 1);
  };
  const auto lower = [](std::string value) {
    for (char& c : value) c = char(std::tolower(static_cast<unsigned char>(c)));
    return value;
  };
  const std::string wanted = lower(trimmed(text));
  VIT_CHECK(!wanted.empty(), "class: an empty class name");
  if (wanted.find_first_not_of("0123456789") == std::string::npos) {
    const long index = wanted.size() > 9 ? -1 : std::stol(wanted);
    VIT_CHECK(index >= 0 && index < classes, "class ", text, " is out of range (the model has ", classes,
              " classes, 0 to ", classes - 1, ")");
    return int(index);
  }
  VIT_CHECK(!labels.empty(), "class '", text, "': there are no labels to look it up in (give --labels, or a class index)");
  std::vector<int> matches;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    bool match = lower(trimmed(labels[i])) == wanted;
    std::istringstream names(labels[i]);
    for (std::string name; !match && std::getline(names, name, ',');) match = lower(trimmed(name)) == wanted;
    if (match) matches.push_back(int(i));
  }
  VIT_CHECK(!matches.empty(), "class '", text, "' is not one of the labels");
  if (matches.size() > 1) {
    std::string candidates;
    for (int index : matches) candidates += detail::concat(candidates.empty() ? "" : "; ", index, " ", labels[std::size_t(index)]);
    detail::fail("class '", text, "' names ", matches.size(), " classes (", candidates, "): give the index");
  }
  return matches.front();
}

}  // namespace vit
