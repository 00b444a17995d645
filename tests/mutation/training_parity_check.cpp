// The mutation tests' checker for training: the PyTorch training-parity cases (tests/training_parity.hpp).
// Exit 0 when every case agrees, 1 otherwise. Built against the real headers (it must pass) and against
// copies with one deliberate bug in the optimizer or the gradients (each must fail).
#include <cstdio>

#include "../training_parity.hpp"

int main() try {
  int wrong = 0;
  for (const std::string& name : vit::test::training_cases()) {
    const vit::test::TrainingParity parity = vit::test::check_training_parity(name);
    std::printf("%s%s\n", parity.passes() ? "" : "DIFFERS ", parity.describe().c_str());
    wrong += !parity.passes();
  }
  std::printf("%d training runs differ from PyTorch's\n", wrong);
  return wrong == 0 ? 0 : 1;
} catch (const std::exception& error) {
  std::printf("error: %s\n", error.what());
  return 1;
}
