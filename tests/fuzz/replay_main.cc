// The main of a fuzz target when it is built without libFuzzer: runs LLVMFuzzerTestOneInput once
// on every file named on the command line or found (not recursively) in a directory named there,
// in name order, so that a seed corpus is a regression test in every build. Each input is passed
// in a buffer of exactly its size, as libFuzzer does, so a sanitizer sees reads past its end.
// Exits 0 when every input ran (a failed invariant aborts), 1 when there was nothing to run or a
// file could not be read, 2 on usage errors.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Optional in a target, as with libFuzzer.
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

bool ReadFile(const std::filesystem::path& path, std::string* contents) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  contents->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIRECTORY...\n", argv[0]);
    return 2;
  }
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);

  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code error;
    if (std::filesystem::is_directory(arg, error)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg, error)) {
        if (entry.is_regular_file()) inputs.push_back(entry.path());
      }
      if (error) {
        std::fprintf(stderr, "cannot list %s: %s\n", argv[i], error.message().c_str());
        return 1;
      }
    } else if (std::filesystem::is_regular_file(arg, error)) {
      inputs.push_back(arg);
    } else {
      std::fprintf(stderr, "no such file or directory: %s\n", argv[i]);
      return 1;
    }
  }
  std::sort(inputs.begin(), inputs.end());
  if (inputs.empty()) {
    std::fprintf(stderr, "no inputs found: a seed corpus must not be empty\n");
    return 1;
  }

  for (const std::filesystem::path& path : inputs) {
    std::string contents;
    if (!ReadFile(path, &contents)) {
      std::fprintf(stderr, "cannot read %s\n", path.c_str());
      return 1;
    }
    // Printed first, so that the input is named when it crashes the target.
    std::fprintf(stderr, "input %s (%zu bytes)\n", path.c_str(), contents.size());
    std::unique_ptr<uint8_t[]> data(new uint8_t[contents.size()]);
    if (!contents.empty()) std::memcpy(data.get(), contents.data(), contents.size());
    LLVMFuzzerTestOneInput(data.get(), contents.size());
  }
  std::fprintf(stderr, "replayed %zu inputs\n", inputs.size());
  return 0;
}
