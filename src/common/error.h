// Errors. Two kinds, kept apart as in c10:
//  - UserError: bad input or environment (a file, field or value the user can fix).
//    The message says what was expected, what was found, where, and what to do.
//  - UNIGAP_ASSERT: an internal invariant; if it fires it is a bug in unigap.
#pragma once

#include <stdexcept>
#include <string>

namespace unigap {

class UserError : public std::runtime_error {
 public:
  // where: file[:line] or field name; hint: what to do about it (may be empty).
  UserError(const std::string& what, const std::string& where = "", const std::string& hint = "");
  const std::string& where() const { return where_; }
  const std::string& hint() const { return hint_; }
  const std::string& bare_message() const { return bare_; }

 private:
  std::string bare_, where_, hint_;
};

[[noreturn]] void internal_error(const char* expr, const char* file, int line, const std::string& msg);

}  // namespace unigap

#define UNIGAP_ASSERT(cond, msg)                                            \
  do {                                                                      \
    if (!(cond)) ::unigap::internal_error(#cond, __FILE__, __LINE__, (msg)); \
  } while (0)
