#include "protocol/catalog_file.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>

#include <boost/json.hpp>

#include "protocol/json_text.hpp"

namespace dspsync {

namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  for (;;) {
    auto at = text.find(sep);
    auto piece = trim(text.substr(0, at));
    if (!piece.empty()) out.push_back(piece);
    if (at == std::string_view::npos) return out;
    text.remove_prefix(at + 1);
  }
}

std::string join_errors(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += (out.empty() ? "" : "\n") + e;
  return out;
}

/// `Holder Name (role)` -> holder and role.
void holder_and_role(const std::string& text, rights_share& s) {
  const auto open = text.rfind(" (");
  if (!text.empty() && text.back() == ')' && open != std::string::npos) {
    s.holder = trim(text.substr(0, open));
    s.role = trim(text.substr(open + 2, text.size() - open - 3));
  } else {
    s.holder = trim(text);
  }
}

/// A `master_shares` cell: `holder (role)=percent|...`.
void parse_master_cell(const std::string& cell, const std::string& where, std::vector<rights_share>& out,
                       std::vector<std::string>& errors) {
  for (const auto& part : split(cell, '|')) {
    const auto eq = part.rfind('=');
    if (eq == std::string::npos) {
      errors.push_back(where + ": master_shares: expected \"holder (role)=percent\", got \"" + part + "\"");
      continue;
    }
    rights_share s;
    s.right = right_type::master;
    holder_and_role(part.substr(0, eq), s);
    auto share = parse_share(part.substr(eq + 1), "master_shares");
    if (!share) {
      errors.push_back(where + ": " + share.error().message);
      continue;
    }
    s.share = *share;
    out.push_back(std::move(s));
  }
}

/// Reads a whole file.
expected<std::string> slurp(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return failure{ec::io_failure, path + ": cannot read: " + std::strerror(errno)};
  std::string text;
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (bad) return failure{ec::io_failure, path + ": cannot read: " + std::strerror(errno)};
  return text;
}

std::string json_string(const boost::json::value* v) {
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->get_string().data(), v->get_string().size());
}

}  // namespace

expected<std::vector<std::vector<std::string>>> split_csv(std::string_view text, std::string_view source,
                                                          std::vector<std::size_t>& line_of) {
  std::vector<std::vector<std::string>> rows;
  line_of.clear();
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::size_t i = 0, line = 1;
  while (i < text.size()) {
    const std::size_t start_line = line;
    std::vector<std::string> row;
    std::string cell;
    bool quoted = false, was_quoted = false;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (quoted) {
        if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else if (c == '"') {
          quoted = false;
        } else {
          if (c == '\n') ++line;
          cell += c;
        }
      } else if (c == '"' && trim(cell).empty()) {
        quoted = was_quoted = true;
        cell.clear();
      } else if (c == ',') {
        row.push_back(was_quoted ? cell : trim(cell));
        cell.clear();
        was_quoted = false;
      } else if (c == '\n') {
        ++line;
        ++i;
        break;
      } else {
        cell += c;
      }
    }
    if (quoted)
      return failure{ec::bad_value,
                     std::string(source) + ":" + std::to_string(start_line) + ": unterminated quoted cell"};
    row.push_back(was_quoted ? cell : trim(cell));
    const bool blank = row.size() == 1 && row[0].empty();
    const bool comment = !row.empty() && !row[0].empty() && row[0][0] == '#' && !was_quoted;
    if (blank || comment) continue;
    rows.push_back(std::move(row));
    line_of.push_back(start_line);
  }
  return rows;
}

status parse_catalog_csv(std::string_view text, std::string_view source, catalog_data& out) {
  std::vector<std::size_t> lines;
  auto rows = split_csv(text, source, lines);
  if (!rows) return rows.error();
  if (rows->empty()) return failure{ec::bad_value, std::string(source) + ": empty; expected a header row"};
  std::map<std::string, std::size_t> col;
  for (std::size_t c = 0; c < (*rows)[0].size(); ++c) col[lower((*rows)[0][c])] = c;
  auto has = [&](const char* name) { return col.count(name) != 0; };
  const std::string src(source);
  std::vector<std::string> errors;
  if (has("isrc")) {
    for (std::size_t r = 1; r < rows->size(); ++r) {
      const auto& row = (*rows)[r];
      const std::string where = src + ":" + std::to_string(lines[r]);
      auto cell = [&](const char* name) {
        auto it = col.find(name);
        return it != col.end() && it->second < row.size() ? row[it->second] : std::string();
      };
      recording_entry e;
      e.isrc = cell("isrc");
      e.title = cell("title");
      e.artists = split(cell("artists"), '|');
      e.upc = cell("upc");
      e.release_date = cell("release_date");
      e.iswc = cell("iswc");
      parse_master_cell(cell("master_shares"), where, e.master, errors);
      auto problems = normalize_entry(e, where);
      errors.insert(errors.end(), problems.begin(), problems.end());
      out.recordings.push_back(std::move(e));
    }
  } else if (has("iswc")) {
    for (const char* required : {"holder", "right", "share"})
      if (!has(required))
        return failure{ec::bad_value, src + ":" + std::to_string(lines[0]) +
                                          ": works file: missing column \"" + required +
                                          "\" (iswc,title,holder,role,right,share,territory)"};
    std::map<std::string, std::size_t> index;  // raw ISWC -> position in `works`
    std::vector<work_entry> works;
    std::vector<std::string> where_of;
    for (std::size_t r = 1; r < rows->size(); ++r) {
      const auto& row = (*rows)[r];
      const std::string where = src + ":" + std::to_string(lines[r]);
      auto cell = [&](const char* name) {
        auto it = col.find(name);
        return it != col.end() && it->second < row.size() ? row[it->second] : std::string();
      };
      const std::string iswc = cell("iswc");
      auto [it, fresh] = index.emplace(iswc, works.size());
      if (fresh) {
        works.emplace_back();
        works.back().iswc = iswc;
        where_of.push_back(where);
      }
      auto& w = works[it->second];
      if (w.title.empty()) w.title = cell("title");
      if (cell("holder").empty() && cell("right").empty() && cell("share").empty()) continue;
      rights_share s;
      s.holder = cell("holder");
      s.role = cell("role");
      s.territory = cell("territory");
      if (s.territory == "*") s.territory.clear();
      auto right = right_from_name(cell("right"));
      if (!right || *right == right_type::master) {
        errors.push_back(where + ": right: expected mechanical or performance, got \"" + cell("right") +
                         "\"");
        continue;
      }
      s.right = *right;
      auto share = parse_share(cell("share"));
      if (!share) {
        errors.push_back(where + ": " + share.error().message);
        continue;
      }
      s.share = *share;
      w.shares.push_back(std::move(s));
    }
    for (std::size_t i = 0; i < works.size(); ++i) {
      auto problems = normalize_entry(works[i], where_of[i]);
      errors.insert(errors.end(), problems.begin(), problems.end());
      out.works.push_back(std::move(works[i]));
    }
  } else {
    return failure{ec::bad_value, src + ":" + std::to_string(lines[0]) +
                                      ": expected a recordings header (isrc,title,...) or a works header "
                                      "(iswc,title,holder,role,right,share,territory)"};
  }
  if (!errors.empty()) return failure{ec::bad_value, join_errors(errors)};
  return ok;
}

status parse_catalog_json(std::string_view text, std::string_view source, catalog_data& out) {
  json_text_parser parser;
  auto doc = parser.parse(text, source);
  if (!doc) return doc.error();
  const auto* root = (*doc)->if_object();
  const std::string src(source);
  if (root == nullptr)
    return failure{ec::bad_value, src + ": expected an object with \"recordings\" and/or \"works\""};
  std::vector<std::string> errors;
  auto share_of = [&](const boost::json::object& o, const std::string& where) -> std::optional<int64_t> {
    auto share = parse_share(json_string(o.if_contains("share")), "share");
    if (!share) {
      errors.push_back(where + ": " + share.error().message);
      return std::nullopt;
    }
    return *share;
  };
  if (const auto* v = root->if_contains("recordings")) {
    if (!v->is_array()) return failure{ec::bad_value, src + ": recordings: expected an array"};
    const auto& arr = v->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string where = src + ": recordings[" + std::to_string(i) + "]";
      const auto* o = arr[i].if_object();
      if (o == nullptr) {
        errors.push_back(where + ": expected an object");
        continue;
      }
      recording_entry e;
      e.isrc = json_string(o->if_contains("isrc"));
      e.title = json_string(o->if_contains("title"));
      if (const auto* a = o->if_contains("artists"); a && a->is_array())
        for (const auto& x : a->get_array()) e.artists.push_back(json_string(&x));
      else if (a && a->is_string())
        e.artists = split(json_string(a), '|');
      e.upc = json_string(o->if_contains("upc"));
      e.release_date = json_string(o->if_contains("release_date"));
      e.iswc = json_string(o->if_contains("iswc"));
      if (const auto* ms = o->if_contains("master_shares"); ms && ms->is_array()) {
        const auto& shares = ms->get_array();
        for (std::size_t j = 0; j < shares.size(); ++j) {
          const std::string at = where + ".master_shares[" + std::to_string(j) + "]";
          const auto* so = shares[j].if_object();
          if (so == nullptr) {
            errors.push_back(at + ": expected an object");
            continue;
          }
          rights_share s;
          s.holder = json_string(so->if_contains("holder"));
          s.role = json_string(so->if_contains("role"));
          s.right = right_type::master;
          if (auto share = share_of(*so, at)) {
            s.share = *share;
            e.master.push_back(std::move(s));
          }
        }
      }
      auto problems = normalize_entry(e, where);
      errors.insert(errors.end(), problems.begin(), problems.end());
      out.recordings.push_back(std::move(e));
    }
  }
  if (const auto* v = root->if_contains("works")) {
    if (!v->is_array()) return failure{ec::bad_value, src + ": works: expected an array"};
    const auto& arr = v->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string where = src + ": works[" + std::to_string(i) + "]";
      const auto* o = arr[i].if_object();
      if (o == nullptr) {
        errors.push_back(where + ": expected an object");
        continue;
      }
      work_entry w;
      w.iswc = json_string(o->if_contains("iswc"));
      w.title = json_string(o->if_contains("title"));
      if (const auto* sh = o->if_contains("shares"); sh && sh->is_array()) {
        const auto& shares = sh->get_array();
        for (std::size_t j = 0; j < shares.size(); ++j) {
          const std::string at = where + ".shares[" + std::to_string(j) + "]";
          const auto* so = shares[j].if_object();
          if (so == nullptr) {
            errors.push_back(at + ": expected an object");
            continue;
          }
          rights_share s;
          s.holder = json_string(so->if_contains("holder"));
          s.role = json_string(so->if_contains("role"));
          s.territory = json_string(so->if_contains("territory"));
          auto right = right_from_name(json_string(so->if_contains("right")));
          if (!right || *right == right_type::master) {
            errors.push_back(at + ": right: expected mechanical or performance");
            continue;
          }
          s.right = *right;
          if (auto share = share_of(*so, at)) {
            s.share = *share;
            w.shares.push_back(std::move(s));
          }
        }
      }
      auto problems = normalize_entry(w, where);
      errors.insert(errors.end(), problems.begin(), problems.end());
      out.works.push_back(std::move(w));
    }
  }
  if (!root->contains("recordings") && !root->contains("works"))
    return failure{ec::bad_value, src + ": expected \"recordings\" and/or \"works\""};
  if (!errors.empty()) return failure{ec::bad_value, join_errors(errors)};
  return ok;
}

expected<catalog_data> read_catalog_files(const std::vector<std::string>& paths) {
  catalog_data out;
  std::vector<std::string> errors;
  for (const auto& path : paths) {
    auto text = slurp(path);
    if (!text) {
      errors.push_back(text.error().message);
      continue;
    }
    const bool json = path.size() >= 5 && lower(path.substr(path.size() - 5)) == ".json";
    auto parsed = json ? parse_catalog_json(*text, path, out) : parse_catalog_csv(*text, path, out);
    if (!parsed) errors.push_back(parsed.error().message);
  }
  if (!errors.empty()) return failure{ec::bad_value, join_errors(errors)};
  return out;
}

std::string csv_cell(std::string_view text) {
  const bool quote = text.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' ' || text.front() == '#'));
  if (!quote) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string recordings_csv(const std::vector<recording_entry>& recordings) {
  std::string out = "isrc,title,artists,upc,release_date,iswc,master_shares\n";
  for (const auto& r : recordings) {
    std::string artists, shares;
    for (const auto& a : r.artists) artists += (artists.empty() ? "" : "|") + a;
    for (const auto& s : r.master) {
      if (!shares.empty()) shares += '|';
      shares += s.holder;
      if (!s.role.empty()) shares += " (" + s.role + ")";
      shares += "=" + money::from_units(s.share).to_string();
    }
    for (const std::string* cell :
         {&r.isrc, &r.title, static_cast<const std::string*>(&artists), &r.upc, &r.release_date, &r.iswc})
      out += csv_cell(*cell) + ",";
    out += csv_cell(shares) + "\n";
  }
  return out;
}

std::string works_csv(const std::vector<work_entry>& works) {
  std::string out = "iswc,title,holder,role,right,share,territory\n";
  for (const auto& w : works) {
    if (w.shares.empty()) out += csv_cell(w.iswc) + "," + csv_cell(w.title) + ",,,,,\n";
    for (const auto& s : w.shares)
      out += csv_cell(w.iswc) + "," + csv_cell(w.title) + "," + csv_cell(s.holder) + "," + csv_cell(s.role) +
             "," + to_string(s.right) + "," + money::from_units(s.share).to_string() + "," + s.territory +
             "\n";
  }
  return out;
}

}  // namespace dspsync
