// Finding the image files in a directory tree, with every entry that cannot be examined reported rather
// than skipped: a dangling or looping symbolic link, a sub-folder without read permission. A tool that
// classifies a folder must not lose images silently.
//
// Symbolic links are followed (as torchvision's ImageFolder does, with os.walk(followlinks=True)); each
// directory is searched once, by its canonical path, so a link back to a folder already searched (a cycle)
// adds nothing and ends there: its images are found once, under the first path.
// Images are recognised by extension, in any case. The result is sorted byte-wise, so runs are stable.
#pragma once

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <string>
#include <system_error>
#include <vector>

namespace vit {

// The file extensions of the formats vit decodes (vit/io/image.hpp).
inline const std::vector<std::string>& decodable_image_extensions() {
  static const std::vector<std::string> extensions{".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tga",
                                                   ".psd", ".pnm", ".ppm", ".pgm", ".hdr"};
  return extensions;
}

// An entry that could not be examined: its path and a one-line message naming it and saying why.
struct SearchProblem {
  std::string path;
  std::string message;
};

struct ImageSearch {
  std::vector<std::string> images;      // paths of the image files found, sorted byte-wise
  std::vector<SearchProblem> problems;  // in the order met
};

namespace detail {

inline bool has_decodable_extension(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  const auto& known = decodable_image_extensions();
  return std::find(known.begin(), known.end(), extension) != known.end();
}

inline void search_directory(const std::filesystem::path& directory, std::set<std::filesystem::path>& searched,
                             ImageSearch& found) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path canonical = fs::canonical(directory, error);
  if (error) {
    found.problems.push_back({directory.string(), directory.string() + ": cannot resolve the directory (" + error.message() + ")"});
    return;
  }
  if (!searched.insert(canonical).second) return;  // a cycle, or a second way to the same folder
  fs::directory_iterator entries(directory, error), end;
  if (error) {
    found.problems.push_back({directory.string(), directory.string() + ": cannot list the directory (" + error.message() + ")"});
    return;
  }
  std::vector<fs::path> subdirectories;
  for (; entries != end; entries.increment(error)) {
    const fs::path path = entries->path();
    std::error_code status_error;
    const fs::file_status status = fs::status(path, status_error);  // follows links
    if (status_error) {
      std::error_code ignored;
      const bool link = fs::is_symlink(fs::symlink_status(path, ignored));
      found.problems.push_back({path.string(), path.string() +
                                                   (link ? ": a symbolic link that cannot be followed (" : ": cannot read (") +
                                                   status_error.message() + ")"});
      continue;
    }
    if (fs::is_directory(status))
      subdirectories.push_back(path);
    else if (fs::is_regular_file(status) && has_decodable_extension(path))
      found.images.push_back(path.string());
  }
  if (error)
    found.problems.push_back({directory.string(), directory.string() + ": listing stopped early (" + error.message() + ")"});
  std::sort(subdirectories.begin(), subdirectories.end());
  for (const fs::path& subdirectory : subdirectories) search_directory(subdirectory, searched, found);
}

}  // namespace detail

// The image files under `directory`, searched recursively, and what could not be examined there.
inline ImageSearch find_images(const std::string& directory) {
  ImageSearch found;
  std::set<std::filesystem::path> searched;
  detail::search_directory(directory, searched, found);
  std::sort(found.images.begin(), found.images.end());
  return found;
}

// One input of a tool or pipeline that takes "image files and folders": a path, and why it cannot be read
// (empty when it is an image file to decode).
struct ImageInput {
  std::string path;
  std::string error;
};

// Files named are taken as they are (a wrong extension is no reason to skip what the user asked for);
// directories contribute their image files, sorted, and each entry that could not be examined as a failed
// input; a directory without images is a failed input too. Order: as given, each folder's images in place.
inline std::vector<ImageInput> expand_image_inputs(const std::vector<std::string>& paths) {
  std::vector<ImageInput> inputs;
  for (const std::string& path : paths) {
    std::error_code error;
    if (!std::filesystem::is_directory(path, error)) {
      inputs.push_back({path, {}});
      continue;
    }
    const ImageSearch found = find_images(path);
    for (const std::string& image : found.images) inputs.push_back({image, {}});
    for (const SearchProblem& problem : found.problems) inputs.push_back({problem.path, problem.message});
    if (found.images.empty() && found.problems.empty()) inputs.push_back({path, path + ": no image files in the directory"});
  }
  return inputs;
}

}  // namespace vit
