#include "common/error.h"

namespace unigap {

namespace {
std::string compose(const std::string& what, const std::string& where, const std::string& hint) {
  std::string s;
  if (!where.empty()) s += where + ": ";
  s += what;
  if (!hint.empty()) s += " (hint: " + hint + ")";
  return s;
}
}  // namespace

UserError::UserError(const std::string& what, const std::string& where, const std::string& hint)
    : std::runtime_error(compose(what, where, hint)), bare_(what), where_(where), hint_(hint) {}

void internal_error(const char* expr, const char* file, int line, const std::string& msg) {
  throw std::logic_error(std::string("internal error (a bug in unigap): ") + msg + " [" + expr +
                         " at " + file + ":" + std::to_string(line) + "]");
}

}  // namespace unigap
