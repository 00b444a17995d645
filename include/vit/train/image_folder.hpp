// A folder of images with one sub-folder per class, read as torchvision's ImageFolder reads it, so the
// same folder gives the same classes, the same sample indices and the same labels in both:
// - classes are the sub-folders of the root (symbolic links followed), sorted byte-wise (Python's
//   sorted() of the names); class i is the i-th;
// - each class folder is walked recursively (links followed); the folders are visited in the byte-wise
//   order of their paths and the files of each folder in the order of their names (torchvision sorts
//   os.walk's (root, dirs, files) tuples, then each files list);
// - a file is a sample when its name ends, in any case, with one of torchvision's IMG_EXTENSIONS that
//   vit decodes: .jpg .jpeg .png .ppm .bmp .pgm (.tif, .tiff and .webp are left out, with a warning);
// - a class without any such file is an error, as in torchvision.
// Unlike torchvision, which raises when a file cannot be decoded, an unreadable image is skipped: its
// load() returns std::nullopt, one line is written (once per file) through the warning callback, and
// unreadable_count() counts it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "vit/core/error.hpp"
#include "vit/io/image.hpp"
#include "vit/train/dataset.hpp"

namespace vit {

// Receives one-line warnings; the default writes them to stderr.
using WarningHandler = std::function<void(const std::string&)>;

namespace detail {

inline void warn_to_stderr(const std::string& message) {
  std::fputs(("warning: " + message + "\n").c_str(), stderr);  // one call, so lines from threads do not mix
}

inline std::string lower_ascii(std::string text) {
  for (char& c : text)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return text;
}

inline bool ends_with_any(const std::string& name, const std::vector<std::string>& suffixes) {
  const std::string lower = lower_ascii(name);
  return std::any_of(suffixes.begin(), suffixes.end(), [&](const std::string& suffix) {
    return lower.size() >= suffix.size() && lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0;
  });
}

}  // namespace detail

// torchvision's IMG_EXTENSIONS that vit's decoder reads.
inline const std::vector<std::string>& image_folder_extensions() {
  static const std::vector<std::string> extensions = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm"};
  return extensions;
}

class ImageFolder : public Dataset {
 public:
  explicit ImageFolder(const std::string& root, WarningHandler warn = {})
      : root_(root),
        warn_(warn ? std::move(warn) : WarningHandler(detail::warn_to_stderr)),
        unreadable_(std::make_unique<Unreadable>()) {
    std::error_code error;
    VIT_CHECK(std::filesystem::is_directory(root, error), root, ": not a directory");
    std::filesystem::directory_iterator entries(root, error), end;
    VIT_CHECK(!error, root, ": cannot list (", error.message(), ")");
    for (; entries != end; entries.increment(error)) {
      VIT_CHECK(!error, root, ": cannot list (", error.message(), ")");
      std::error_code type_error;
      if (entries->is_directory(type_error)) classes_.push_back(entries->path().filename().string());
    }
    VIT_CHECK(!classes_.empty(), root, ": no class folders (ImageFolder wants one sub-folder per class)");
    std::sort(classes_.begin(), classes_.end());

    static const std::vector<std::string> unsupported = {".tif", ".tiff", ".webp"};
    std::vector<std::string> empty_classes;
    std::int64_t ignored = 0;
    for (std::size_t label = 0; label < classes_.size(); ++label) {
      const std::filesystem::path class_dir = std::filesystem::path(root) / classes_[label];
      std::map<std::string, std::vector<std::string>> files_by_folder;  // std::string orders byte-wise
      files_by_folder[class_dir.string()];
      const auto options = std::filesystem::directory_options::follow_directory_symlink;
      std::filesystem::recursive_directory_iterator walk(class_dir, options, error), walk_end;
      VIT_CHECK(!error, class_dir.string(), ": cannot list (", error.message(), ")");
      for (; walk != walk_end; walk.increment(error)) {
        VIT_CHECK(!error, class_dir.string(), ": cannot list (", error.message(), ")");
        std::error_code type_error;
        if (walk->is_directory(type_error)) continue;
        const std::string name = walk->path().filename().string();
        if (detail::ends_with_any(name, image_folder_extensions()))
          files_by_folder[walk->path().parent_path().string()].push_back(name);
        else if (detail::ends_with_any(name, unsupported))
          ++ignored;
      }
      const std::size_t first = samples_.size();
      for (auto& [folder, names] : files_by_folder) {
        std::sort(names.begin(), names.end());
        for (const std::string& name : names)
          samples_.push_back({(std::filesystem::path(folder) / name).string(), int(label)});
      }
      if (samples_.size() == first) empty_classes.push_back(classes_[label]);
    }
    if (!empty_classes.empty()) {
      std::string names;
      for (const std::string& name : empty_classes) names += (names.empty() ? "" : ", ") + name;
      std::string known;
      for (const std::string& extension : image_folder_extensions()) known += " " + extension;
      detail::fail(root, ": no image in the class folder", empty_classes.size() > 1 ? "s " : " ", names,
                   " (image files end with", known, ignored ? "; .tif, .tiff and .webp are not supported)" : ")");
    }
    if (ignored)
      warn_(detail::concat(root, ": ", ignored, " .tif/.tiff/.webp file", ignored > 1 ? "s" : "",
                           " left out (vit does not decode them)"));
  }

  std::int64_t size() const override { return std::int64_t(samples_.size()); }
  int num_classes() const override { return int(classes_.size()); }
  const std::vector<std::string>& classes() const { return classes_; }
  const std::string& root() const { return root_; }
  const std::string& path(std::int64_t index) const { return samples_[std::size_t(index)].path; }
  int label(std::int64_t index) const override { return samples_[std::size_t(index)].label; }

  // Decodes sample `index`; std::nullopt (and one warning per file) when it cannot be read or decoded.
  std::optional<Sample> load(std::int64_t index) const override {
    {
      std::lock_guard<std::mutex> lock(unreadable_->mutex);
      if (unreadable_->indices.count(index)) return std::nullopt;  // already reported
    }
    Sample sample;
    sample.label = label(index);
    try {
      sample.image = load_image(path(index));  // its errors name the file
    } catch (const Error& error) {
      bool first_time = false;
      {
        std::lock_guard<std::mutex> lock(unreadable_->mutex);
        first_time = unreadable_->indices.insert(index).second;
      }
      if (first_time) warn_(detail::concat("skipping unreadable image: ", error.what()));
      return std::nullopt;
    }
    return sample;
  }

  // How many files have been found unreadable so far (each counted once, however often it is loaded).
  std::int64_t unreadable_count() const {
    std::lock_guard<std::mutex> lock(unreadable_->mutex);
    return std::int64_t(unreadable_->indices.size());
  }

  // Their paths, in index order.
  std::vector<std::string> unreadable_files() const {
    std::lock_guard<std::mutex> lock(unreadable_->mutex);
    std::vector<std::string> paths;
    for (std::int64_t index : unreadable_->indices) paths.push_back(path(index));
    return paths;
  }

 private:
  struct Entry {
    std::string path;
    int label = 0;
  };
  struct Unreadable {  // behind a pointer so that the dataset stays movable
    std::mutex mutex;
    std::set<std::int64_t> indices;
  };

  std::string root_;
  WarningHandler warn_;
  std::vector<std::string> classes_;
  std::vector<Entry> samples_;
  std::unique_ptr<Unreadable> unreadable_;
};

}  // namespace vit
