#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace dspsync::test {

/// A fresh directory under /tmp, removed with everything in it when the object goes.
class temp_dir {
 public:
  temp_dir() {
    char tmpl[] = "/tmp/dspsync-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace dspsync::test
