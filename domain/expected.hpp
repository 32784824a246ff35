#pragma once

#include <string>
#include <utility>
#include <variant>

#include "domain/error.hpp"

namespace dspsync {

/// A failure with its code and a human message that names the input, the field and what was expected.
struct failure {
  ec code = ec::none;
  std::string message;
};

/// Either a value or a failure. Pure code returns this instead of throwing, so callers decide what a
/// failure means (quarantine a record, reject a config, fail a command).
template <class T>
class expected {
 public:
  expected(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design, like std::expected
  expected(failure f) : data_(std::move(f)) {}    // NOLINT
  expected(ec code, std::string message) : data_(failure{code, std::move(message)}) {}

  explicit operator bool() const { return data_.index() == 0; }
  bool has_value() const { return data_.index() == 0; }

  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const failure& error() const { return std::get<1>(data_); }

 private:
  std::variant<T, failure> data_;
};

/// The result of an operation that yields nothing on success.
struct ok_t {};
inline constexpr ok_t ok{};
using status = expected<ok_t>;

}  // namespace dspsync
