// The README's first example: classify a photo and explain the top class, as a notebook's
// pipeline("image-classification") would, with the checkpoint's own preprocessing and labels.
#include <iostream>

#include <vit/vit.hpp>

int main(int argc, char** argv) try {
  if (argc != 3) return std::cerr << "usage: hello_classify MODEL IMAGE\n", 2;
  const vit::Classifier classifier(argv[1]);  // a .safetensors file, or a timm / Hugging Face model folder
  for (const vit::Classification& c : classifier.classify(argv[2], 3))
    std::cout << c.probability << "  " << c.index << "  " << c.label << "\n";

  const vit::Explainer explainer(argv[1]);  // attention rollout of the same image, drawn over it
  const vit::ExplainedImage image = explainer.prepare(argv[2]);
  vit::save_png("hello_rollout.png", explainer.overlay(image, explainer.explain(image)));
} catch (const vit::Error& error) {
  std::cerr << "error: " << error.what() << "\n";
  return 1;
}
