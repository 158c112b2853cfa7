#include "proc/psi.h"

#include "proc/parse_util.h"

namespace reaperd::proc {

namespace {

// Parses "avg10=0.00 avg60=0.00 avg300=0.00 total=0" into out; all four keys required.
Result<void> ParseLine(std::string_view rest, PsiLine& out) noexcept {
  bool seen[4] = {false, false, false, false};
  std::string_view field;
  while (NextField(rest, field)) {
    std::size_t eq = field.find('=');
    if (eq == std::string_view::npos) return Fail(Error::Parse("psi: field without '='"));
    std::string_view key = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if (key == "total") {
      auto v = ParseU64Checked(value, "psi: total");
      if (!v) return Fail(v.error());
      out.total_us = *v;
      seen[3] = true;
      continue;
    }
    double* avg = nullptr;
    int index = 0;
    if (key == "avg10") {
      avg = &out.avg10;
    } else if (key == "avg60") {
      avg = &out.avg60;
      index = 1;
    } else if (key == "avg300") {
      avg = &out.avg300;
      index = 2;
    } else {
      continue;  // a key a later kernel may add
    }
    auto v = ParseDecimal(value);
    if (!v) return Fail(Error::Parse("psi: average"));
    // Averages are percentages of wall time.
    if (*v < 0 || *v > 100) return Fail(Error::Of(Errc::kRange, "psi: average"));
    *avg = *v;
    seen[index] = true;
  }
  for (bool s : seen) {
    if (!s) return Fail(Error::Parse("psi: line lacks a key"));
  }
  return {};
}

}  // namespace

Result<Psi> ParsePsi(std::string_view text) noexcept {
  if (Trim(text).empty()) return Fail(Error::Parse("psi: empty"));
  Psi p;
  bool has_some = false;
  std::string_view line;
  while (NextLine(text, line)) {
    std::string_view rest = line;
    std::string_view kind;
    if (!NextField(rest, kind)) continue;
    PsiLine* target = nullptr;
    if (kind == "some") {
      target = &p.some;
      has_some = true;
    } else if (kind == "full") {
      target = &p.full;
      p.has_full = true;
    } else {
      return Fail(Error::Parse("psi: line is neither some nor full"));
    }
    if (auto r = ParseLine(rest, *target); !r) return Fail(r.error());
  }
  if (!has_some) return Fail(Error::Missing("psi: some"));
  return p;
}

}  // namespace reaperd::proc
